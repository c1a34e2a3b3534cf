//! Departments' lists matched against the ledger (数据共享, 应保尽保): who a list names is
//! found by the blind index of the 身份证号 (never by name), as a child of the ledger or as
//! a child's guardian, and each finding says why in words a village director can check:
//! a child not in the ledger who should be (不在台账), a child whose facts changed (情况有变),
//! a child the ledger holds in a way the list contradicts (与台账不符).
//!
//! The rules here are pure: the store reads the list and the ledger, keys both with the
//! blind index, and keeps what these rules find.

use std::collections::HashMap;

use crate::child::{ParentStatus, SchoolStatus, Support};
use crate::coded::coded_enum;

coded_enum!(
    /// The lists departments hand over.
    ListKind {
        Dibao = ("dibao", "低保对象名单"),
        Tekun = ("tekun", "特困供养人员名单"),
        Disability = ("disability", "持证残疾人名单"),
        Prison = ("prison", "服刑人员名单"),
        Detox = ("detox", "强制隔离戒毒人员名单"),
        Enrolment = ("enrolment", "在校学生名单"),
        Dropout = ("dropout", "辍学学生名单"),
        Birth = ("birth", "出生登记名单"),
        Death = ("death", "死亡注销名单"),
        Medical = ("medical", "医保参保名单"),
    }
);

impl ListKind {
    /// The department that keeps the list.
    pub fn department(self) -> &'static str {
        match self {
            ListKind::Dibao | ListKind::Tekun => "民政",
            ListKind::Disability => "残联",
            ListKind::Prison => "司法",
            ListKind::Detox | ListKind::Birth | ListKind::Death => "公安",
            ListKind::Enrolment | ListKind::Dropout => "教育",
            ListKind::Medical => "医保",
        }
    }

    /// What being on the list says of an adult, as a finding writes it.
    fn adult_words(self) -> &'static str {
        match self {
            ListKind::Dibao => "享受低保",
            ListKind::Tekun => "为特困供养人员",
            ListKind::Disability => "持残疾人证",
            ListKind::Prison => "服刑",
            ListKind::Detox => "强制隔离戒毒",
            ListKind::Death => "已死亡注销",
            ListKind::Enrolment | ListKind::Dropout | ListKind::Birth | ListKind::Medical => {
                "在名单上"
            }
        }
    }

    /// The parent's status the list implies, where it implies one.
    fn parent_status(self) -> Option<ParentStatus> {
        match self {
            ListKind::Prison => Some(ParentStatus::Imprisoned),
            ListKind::Detox => Some(ParentStatus::CompulsoryRehab),
            ListKind::Death => Some(ParentStatus::Dead),
            ListKind::Disability => Some(ParentStatus::SevereDisability),
            _ => None,
        }
    }

    /// A child of a family on this list belongs in the ledger (to be verified).
    fn child_belongs(self) -> bool {
        matches!(
            self,
            ListKind::Dibao
                | ListKind::Tekun
                | ListKind::Disability
                | ListKind::Prison
                | ListKind::Detox
                | ListKind::Death
        )
    }
}

coded_enum!(
    /// What a match found.
    FindingKind {
        Missing = ("missing", "不在台账"),
        Changed = ("changed", "情况有变"),
        Contradicts = ("contradicts", "与台账不符"),
    }
);

/// A person someone else on a list is related to (a listed adult's child, a newborn's
/// parent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kin {
    pub name: String,
    /// The blind index of the 身份证号.
    pub key: String,
}

/// One row of a department's list, keyed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listed {
    /// The sheet's row number (1-based, as Excel shows it).
    pub row: u32,
    pub name: String,
    pub key: String,
    /// Under 18 on the day of the match.
    pub minor: bool,
    /// Male, by the 身份证号 (for 父亲/母亲 in the words).
    pub male: bool,
    /// The listed adult's children the list names (子女身份证号).
    pub children: Vec<Kin>,
    /// A newborn's (or pupil's) parents the list names (父亲/母亲身份证号).
    pub parents: Vec<Kin>,
    /// What else the list says of the row (残疾类别等级, 服刑场所, 学校, 参保状态).
    pub detail: String,
}

/// A guardian (or parent) of a ledger child, keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative {
    /// 父亲, 母亲, 祖父, …
    pub relation: String,
    pub key: String,
}

/// A ledger child as the matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerChild {
    pub id: String,
    pub name: String,
    pub division: String,
    pub key: String,
    pub school: Option<SchoolStatus>,
    pub disabled: bool,
    pub support: Vec<Support>,
    pub father: ParentStatus,
    pub mother: ParentStatus,
    pub relatives: Vec<Relative>,
}

/// The ledger, indexed by the keys of its children and of their relatives.
pub struct Ledger {
    children: Vec<LedgerChild>,
    by_key: HashMap<String, usize>,
    by_relative: HashMap<String, Vec<(usize, usize)>>,
}

impl Ledger {
    pub fn new(children: Vec<LedgerChild>) -> Ledger {
        let mut by_key = HashMap::with_capacity(children.len());
        let mut by_relative: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (i, c) in children.iter().enumerate() {
            by_key.insert(c.key.clone(), i);
            for (j, r) in c.relatives.iter().enumerate() {
                by_relative.entry(r.key.clone()).or_default().push((i, j));
            }
        }
        Ledger {
            children,
            by_key,
            by_relative,
        }
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// What a match found about one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The list's row it comes from.
    pub row: u32,
    /// The ledger child (None: not in the ledger).
    pub child_id: Option<String>,
    /// The child's key (the missing child's, to add them).
    pub child_key: String,
    pub child_name: String,
    /// The ledger child's village (None for a missing child: the list's row says where).
    pub division: Option<String>,
    /// Why, in words: "父亲 张某 在司法名单（服刑），孩子 张小某 不在台账".
    pub explanation: String,
}

fn in_school(s: Option<SchoolStatus>) -> bool {
    matches!(
        s,
        Some(
            SchoolStatus::Preschool
                | SchoolStatus::Primary
                | SchoolStatus::JuniorHigh
                | SchoolStatus::SeniorHigh
                | SchoolStatus::Vocational
                | SchoolStatus::Special
        )
    )
}

fn with_detail(detail: &str) -> String {
    if detail.trim().is_empty() {
        String::new()
    } else {
        format!("（{}）", detail.trim())
    }
}

/// The words of a parent's relation the ledger keeps (父亲/母亲), else None.
fn parent_side(relation: &str) -> Option<bool> {
    match relation.trim() {
        "父亲" | "父" | "爸爸" => Some(true),
        "母亲" | "母" | "妈妈" => Some(false),
        _ => None,
    }
}

/// Matches one list against the ledger: every finding, in the list's row order.
pub fn find(kind: ListKind, listed: &[Listed], ledger: &Ledger) -> Vec<Finding> {
    let source = format!("{}{}", kind.department(), kind.label());
    let mut out = Vec::new();
    for p in listed {
        if p.minor {
            find_child(kind, &source, p, ledger, &mut out);
        } else {
            find_adult(kind, &source, p, ledger, &mut out);
        }
    }
    out
}

fn find_child(kind: ListKind, source: &str, p: &Listed, ledger: &Ledger, out: &mut Vec<Finding>) {
    let detail = with_detail(&p.detail);
    let found = |kind, c: &LedgerChild, explanation: String| Finding {
        kind,
        row: p.row,
        child_id: Some(c.id.clone()),
        child_key: c.key.clone(),
        child_name: c.name.clone(),
        division: Some(c.division.clone()),
        explanation,
    };
    let Some(&i) = ledger.by_key.get(&p.key) else {
        let parent = p.parents.iter().find_map(|k| {
            ledger
                .by_relative
                .get(&k.key)
                .and_then(|v| v.first())
                .map(|&(c, r)| (k, &ledger.children[c], &ledger.children[c].relatives[r]))
        });
        let explanation = match (kind, parent) {
            (ListKind::Birth, Some((k, sibling, r))) => format!(
                "{source}：{}{}的孩子{}在台账，新登记的{}不在台账",
                r.relation, k.name, sibling.name, p.name
            ),
            (_, Some((k, sibling, r))) if kind.child_belongs() => format!(
                "{source}：{}{}，其{}{}的孩子{}在台账，{}不在台账",
                p.name, detail, r.relation, k.name, sibling.name, p.name
            ),
            (_, None) if kind.child_belongs() => {
                format!("{source}：{}{}，不在台账", p.name, detail)
            }
            _ => return,
        };
        out.push(Finding {
            kind: FindingKind::Missing,
            row: p.row,
            child_id: None,
            child_key: p.key.clone(),
            child_name: p.name.clone(),
            division: None,
            explanation,
        });
        return;
    };
    let c = &ledger.children[i];
    let finding = match kind {
        ListKind::Disability if !c.disabled => Some((
            FindingKind::Changed,
            format!("{source}：{}持残疾人证{detail}，台账未登记残疾", c.name),
        )),
        ListKind::Dropout if in_school(c.school) => Some((
            FindingKind::Changed,
            format!("{source}：{}已辍学{detail}，台账为在校", c.name),
        )),
        ListKind::Enrolment if c.school == Some(SchoolStatus::NotInSchool) => Some((
            FindingKind::Contradicts,
            format!("{source}：{}在校{detail}，台账为未在校", c.name),
        )),
        ListKind::Death => Some((
            FindingKind::Contradicts,
            format!("{source}：{}已死亡注销，台账仍在册", c.name),
        )),
        ListKind::Dibao if !c.support.contains(&Support::Dibao) => Some((
            FindingKind::Changed,
            format!("{source}：{}的家庭享受低保，台账未登记低保", c.name),
        )),
        ListKind::Tekun if !c.support.contains(&Support::Tekun) => Some((
            FindingKind::Changed,
            format!("{source}：{}为特困供养人员，台账未登记特困", c.name),
        )),
        ListKind::Medical
            if ["未参保", "停保", "断缴", "中断"]
                .iter()
                .any(|w| p.detail.contains(w)) =>
        {
            Some((
                FindingKind::Changed,
                format!("{source}：{}{detail}，需协助参保", c.name),
            ))
        }
        _ => None,
    };
    if let Some((kind, explanation)) = finding {
        out.push(found(kind, c, explanation));
    }
}

fn find_adult(kind: ListKind, source: &str, p: &Listed, ledger: &Ledger, out: &mut Vec<Finding>) {
    let detail = with_detail(&p.detail);
    let words = kind.adult_words();
    let mut seen: Vec<usize> = Vec::new();
    for &(ci, ri) in ledger
        .by_relative
        .get(&p.key)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if seen.contains(&ci) {
            continue;
        }
        seen.push(ci);
        let c = &ledger.children[ci];
        let r = &c.relatives[ri];
        let who = format!("{}{}", r.relation, p.name);
        let explanation = match (parent_side(&r.relation), kind.parent_status()) {
            (Some(father), Some(status)) => {
                let now = if father { c.father } else { c.mother };
                // Dead covers 宣告死亡 too; a severe disability also 重病 or no capacity.
                let consistent = now == status
                    || (status == ParentStatus::Dead && now == ParentStatus::DeclaredDead)
                    || (status == ParentStatus::SevereDisability
                        && matches!(now, ParentStatus::NoCapacity));
                if consistent {
                    continue;
                }
                format!(
                    "{source}：{who}{words}{detail}，台账中{}情况为“{}”",
                    r.relation,
                    now.label()
                )
            }
            (None, Some(_)) => format!(
                "{source}：监护人{who}{words}{detail}，需核实{}的监护照料",
                c.name
            ),
            (_, None) => match kind {
                ListKind::Dibao if !c.support.contains(&Support::Dibao) => {
                    format!("{source}：{who}的家庭享受低保，台账中{}未登记低保", c.name)
                }
                ListKind::Tekun if !c.support.contains(&Support::Tekun) => {
                    format!("{source}：{who}为特困供养人员，台账中{}未登记特困", c.name)
                }
                _ => continue,
            },
        };
        out.push(Finding {
            kind: FindingKind::Changed,
            row: p.row,
            child_id: Some(c.id.clone()),
            child_key: c.key.clone(),
            child_name: c.name.clone(),
            division: Some(c.division.clone()),
            explanation,
        });
    }
    if !kind.child_belongs() {
        return;
    }
    let parent = if p.male { "父亲" } else { "母亲" };
    for k in &p.children {
        if ledger.by_key.contains_key(&k.key) {
            continue;
        }
        out.push(Finding {
            kind: FindingKind::Missing,
            row: p.row,
            child_id: None,
            child_key: k.key.clone(),
            child_name: k.name.clone(),
            division: None,
            explanation: format!(
                "{parent}{}在{source}（{words}）{detail}，孩子{}不在台账",
                p.name, k.name
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(id: &str, name: &str, relatives: Vec<Relative>) -> LedgerChild {
        LedgerChild {
            id: id.into(),
            name: name.into(),
            division: "510812100200".into(),
            key: format!("k-{id}"),
            school: Some(SchoolStatus::Primary),
            disabled: false,
            support: vec![],
            father: ParentStatus::MigrantWork,
            mother: ParentStatus::AtHome,
            relatives,
        }
    }

    fn rel(relation: &str, key: &str) -> Relative {
        Relative {
            relation: relation.into(),
            key: key.into(),
        }
    }

    fn ledger() -> Ledger {
        Ledger::new(vec![
            child("c1", "张小明", vec![rel("父亲", "k-dad")]),
            child("c2", "李小红", vec![rel("祖母", "k-gran")]),
        ])
    }

    fn adult(row: u32, name: &str, key: &str, children: Vec<Kin>) -> Listed {
        Listed {
            row,
            name: name.into(),
            key: key.into(),
            minor: false,
            male: true,
            children,
            ..Listed::default()
        }
    }

    #[test]
    fn a_prisoner_is_found_as_a_ledger_childs_father_and_his_unlisted_child_as_missing() {
        let listed = vec![adult(
            2,
            "张某",
            "k-dad",
            vec![
                Kin {
                    name: "张小明".into(),
                    key: "k-c1".into(),
                },
                Kin {
                    name: "张小亮".into(),
                    key: "k-new".into(),
                },
            ],
        )];
        let found = find(ListKind::Prison, &listed, &ledger());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].kind, FindingKind::Changed);
        assert_eq!(found[0].child_id.as_deref(), Some("c1"));
        assert_eq!(
            found[0].explanation,
            "司法服刑人员名单：父亲张某服刑，台账中父亲情况为“外出务工”"
        );
        assert_eq!(found[1].kind, FindingKind::Missing);
        assert_eq!(
            (found[1].child_id.as_ref(), found[1].child_key.as_str()),
            (None, "k-new")
        );
        assert_eq!(
            found[1].explanation,
            "父亲张某在司法服刑人员名单（服刑），孩子张小亮不在台账"
        );
        // Recorded already as 服刑在押: nothing changed for that child.
        let mut l = ledger().children;
        l[0].father = ParentStatus::Imprisoned;
        let found = find(ListKind::Prison, &listed, &Ledger::new(l));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, FindingKind::Missing);
    }

    #[test]
    fn a_guardian_on_a_list_asks_who_cares_for_the_child() {
        let listed = vec![Listed {
            male: false,
            ..adult(3, "王某", "k-gran", vec![])
        }];
        let found = find(ListKind::Death, &listed, &ledger());
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].explanation,
            "公安死亡注销名单：监护人祖母王某已死亡注销，需核实李小红的监护照料"
        );
        // On an enrolment list an adult means nothing for the ledger.
        assert!(find(ListKind::Enrolment, &listed, &ledger()).is_empty());
    }

    #[test]
    fn a_listed_child_is_missing_changed_or_contradicting_by_the_lists_kind() {
        let minor = |key: &str, name: &str, detail: &str| Listed {
            row: 5,
            name: name.into(),
            key: key.into(),
            minor: true,
            detail: detail.into(),
            ..Listed::default()
        };
        let l = ledger();
        // Not in the ledger: a 低保 child is a candidate; a pupil is not.
        let found = find(ListKind::Dibao, &[minor("k-x", "赵小雨", "")], &l);
        assert_eq!(
            (found[0].kind, found[0].explanation.as_str()),
            (FindingKind::Missing, "民政低保对象名单：赵小雨，不在台账")
        );
        assert!(find(ListKind::Enrolment, &[minor("k-x", "赵小雨", "")], &l).is_empty());
        // In the ledger: the list's facts against the ledger's.
        let c1 = minor("k-c1", "张小明", "肢体二级");
        let found = find(ListKind::Disability, std::slice::from_ref(&c1), &l);
        assert_eq!(
            (found[0].kind, found[0].explanation.as_str()),
            (
                FindingKind::Changed,
                "残联持证残疾人名单：张小明持残疾人证（肢体二级），台账未登记残疾"
            )
        );
        assert_eq!(
            find(ListKind::Dropout, std::slice::from_ref(&c1), &l)[0].kind,
            FindingKind::Changed
        );
        assert_eq!(
            find(ListKind::Death, std::slice::from_ref(&c1), &l)[0].kind,
            FindingKind::Contradicts
        );
        // Facts that agree find nothing.
        assert!(find(ListKind::Enrolment, std::slice::from_ref(&c1), &l).is_empty());
        let mut out = ledger().children;
        out[0].school = Some(SchoolStatus::NotInSchool);
        out[0].disabled = true;
        let l2 = Ledger::new(out);
        assert!(find(ListKind::Disability, std::slice::from_ref(&c1), &l2).is_empty());
        assert!(find(ListKind::Dropout, std::slice::from_ref(&c1), &l2).is_empty());
        assert_eq!(
            find(ListKind::Enrolment, &[c1], &l2)[0].kind,
            FindingKind::Contradicts
        );
    }

    #[test]
    fn a_newborn_is_found_through_a_parent_the_ledger_knows() {
        let baby = Listed {
            row: 7,
            name: "张小宝".into(),
            key: "k-baby".into(),
            minor: true,
            parents: vec![Kin {
                name: "张某".into(),
                key: "k-dad".into(),
            }],
            ..Listed::default()
        };
        let found = find(ListKind::Birth, std::slice::from_ref(&baby), &ledger());
        assert_eq!(
            found[0].explanation,
            "公安出生登记名单：父亲张某的孩子张小明在台账，新登记的张小宝不在台账"
        );
        let stranger = Listed {
            parents: vec![],
            ..baby
        };
        assert!(find(ListKind::Birth, &[stranger], &ledger()).is_empty());
    }
}
