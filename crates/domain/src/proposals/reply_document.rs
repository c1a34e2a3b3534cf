//! The formal reply to a proposal (建议提案答复函), in the layout seeds 000 and 002 show:
//! an optional document number, the title "关于…第N号委员提案的答复", the salutation to the
//! proposer and co-signers, the thanks and "现将有关情况答复如下", the work done (here drafted
//! from the platform's own figures: the network, the ledger, the allowances paid, the
//! activities held and the services bought), the answer to each suggestion (the lead unit's
//! reply), the closing and "此复。", then the unit and the date, and the contact lines.
//!
//! A draft is only a start: the lead unit edits every part and keeps it; the export writes
//! what was kept.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::ProposalKind;
use crate::error::bounded;
use crate::Invalid;

/// The figures a reply quotes, as far as the reader may see them (None: not shown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyFigures {
    /// The county's name (朝天区): "我区", "全区".
    pub place: String,
    /// The year the figures are of (to date).
    pub year: i32,
    pub network: Option<NetworkFigures>,
    /// Children in the protection ledger.
    pub ledger_children: Option<i64>,
    /// The allowances' sentence: "2026年（截至11月）累计发放…，共惠及N人".
    pub allowances: Option<String>,
    pub activities: Option<ActivityFigures>,
    pub services: Option<ServiceFigures>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkFigures {
    pub stations: i64,
    pub work_points: i64,
    pub supervisors: i64,
    pub directors: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityFigures {
    pub activities: i64,
    pub participants: i64,
    pub children_reached: i64,
    pub materials: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceFigures {
    pub social_workers: i64,
    pub volunteers: i64,
    pub children_served: i64,
    pub minutes: i64,
}

/// What the draft says about the proposal itself.
#[derive(Debug, Clone, Default)]
pub struct ReplySource<'a> {
    pub kind: Option<ProposalKind>,
    pub year: i32,
    pub session: &'a str,
    pub number: &'a str,
    pub title: &'a str,
    pub proposer: &'a str,
    pub co_signers: &'a [String],
    /// The lead unit's reply so far ("" before it replies).
    pub reply: &'a str,
    /// The lead unit's name: the signature.
    pub lead_unit: &'a str,
}

/// A reply document, as drafted or as the lead unit kept it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyDocument {
    /// 文号 (朝民函〔2026〕12号); may be empty.
    #[serde(default)]
    pub doc_number: String,
    pub title: String,
    /// 尊敬的…委员：
    pub salutation: String,
    /// The letter's paragraphs, one per line; a line "一、…" is a heading, "（一）…" a
    /// sub-heading.
    pub body: String,
    /// The unit that signs.
    pub signer: String,
    /// 2026年12月6日
    pub date: String,
    /// The lines under the signature: 承办单位, 联系人, 联系电话, 抄送.
    #[serde(default)]
    pub footer: String,
}

/// The role of a line of the body in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRole {
    /// 一、工作开展情况
    Heading,
    /// （一）健全工作网络。… (the first sentence in 楷体)
    SubHeading,
    Paragraph,
}

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// How the layout sets a line of the body.
pub fn line_role(line: &str) -> LineRole {
    let numeral_then = |s: &str, end: char| {
        let head: String = s.chars().take_while(|c| *c != end).collect();
        !head.is_empty()
            && head.chars().count() <= 3
            && head.chars().all(|c| "一二三四五六七八九十".contains(c))
            && s[head.len()..].starts_with(end)
    };
    let l = line.trim_start();
    if numeral_then(l, '、') {
        LineRole::Heading
    } else if let Some(rest) = l.strip_prefix('（') {
        if numeral_then(rest, '）') {
            LineRole::SubHeading
        } else {
            LineRole::Paragraph
        }
    } else {
        LineRole::Paragraph
    }
}

/// "朝天区" → "区", "苍溪县" → "县", "永济市" → "市".
fn place_word(place: &str) -> &'static str {
    match place.chars().last() {
        Some('区') => "区",
        Some('市') => "市",
        Some('旗') => "旗",
        _ => "县",
    }
}

fn date_words(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Drafts the reply from the proposal, the lead unit's reply so far and the figures.
pub fn draft(source: &ReplySource, figures: &ReplyFigures, today: NaiveDate) -> ReplyDocument {
    let (person, item) = match source.kind {
        Some(ProposalKind::Suggestion) => ("代表", "建议"),
        _ => ("委员", "提案"),
    };
    let here = place_word(&figures.place);
    let session = if source.session.trim().is_empty() {
        format!("{}年", source.year)
    } else {
        source.session.trim().to_string()
    };
    let mut names = vec![source.proposer.trim().to_string()];
    names.extend(
        source
            .co_signers
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    );
    let mut body = vec![format!(
        "首先感谢您对我{here}未成年人保护工作的关心和支持。您提出的《{}》（第{}号{item}）已收悉，我们高度重视，认真研究办理，现将有关情况答复如下：",
        source.title.trim(),
        source.number.trim()
    )];
    let mut done = Vec::new();
    // A figure of nothing (a county that records no network yet) is not quoted.
    if let Some(n) = figures
        .network
        .filter(|n| n.stations + n.work_points + n.supervisors + n.directors > 0)
    {
        done.push(format!(
            "健全工作网络。全{here}建成未成年人保护工作站{}个、工作点{}个，配备儿童督导员{}名、儿童主任{}名，形成了{here}、乡镇（街道）、村（社区）三级未成年人保护工作网络。",
            n.stations, n.work_points, n.supervisors, n.directors
        ));
    }
    if let Some(children) = figures.ledger_children.filter(|c| *c > 0) {
        done.push(format!(
            "建立动态台账。全{here}{children}名困境、留守等需要保护的儿童纳入动态台账，由儿童主任定期走访、及时更新，做到底数清、情况明。"
        ));
    }
    if let Some(sentence) = &figures.allowances {
        done.push(format!("落实基本生活保障。{sentence}。"));
    }
    if let Some(a) = figures.activities.filter(|a| a.activities > 0) {
        let mut s = format!(
            "开展宣传和关爱活动。{}年以来，开展未成年人保护宣传、培训和关爱服务活动{}场次，参与{}人次，覆盖儿童{}人次",
            figures.year, a.activities, a.participants, a.children_reached
        );
        if a.materials > 0 {
            s.push_str(&format!("，发放宣传资料{}份", a.materials));
        }
        s.push('。');
        done.push(s);
    }
    if let Some(s) = figures
        .services
        .filter(|s| s.social_workers + s.volunteers > 0)
    {
        done.push(format!(
            "引导社会力量参与。通过政府购买服务和志愿服务，{}名社会工作者和{}名志愿者为{}名困境未成年人提供服务{}小时。",
            s.social_workers,
            s.volunteers,
            s.children_served,
            (s.minutes + 30) / 60
        ));
    }
    if !done.is_empty() {
        body.push("一、工作开展情况".into());
        body.extend(
            done.into_iter()
                .enumerate()
                .map(|(i, s)| format!("（{}）{s}", NUMERALS[i])),
        );
    }
    let heading = if body.len() > 1 {
        "二、关于所提建议的办理情况"
    } else {
        "一、关于所提建议的办理情况"
    };
    body.push(heading.into());
    let reply: Vec<&str> = source
        .reply
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if reply.is_empty() {
        body.push("（请逐条写明对各项建议的办理情况。）".into());
    } else {
        body.extend(reply.into_iter().map(String::from));
    }
    body.push(format!(
        "我们将持续用力做好未成年人保护工作。对本{item}的办理结果，请您提出宝贵意见，期待您一如既往地关心支持全{here}未成年人保护工作。"
    ));
    body.push("此复。".into());
    ReplyDocument {
        doc_number: String::new(),
        title: format!(
            "关于{session}第{}号{person}{item}的答复",
            source.number.trim()
        ),
        salutation: format!("尊敬的{}{person}：", names.join("、")),
        body: body.join("\n"),
        signer: source.lead_unit.trim().to_string(),
        date: date_words(today),
        footer: format!(
            "承办单位：{}\n联系人：\n联系电话：",
            source.lead_unit.trim()
        ),
    }
}

impl ReplyDocument {
    /// Checks a document as edited: the parts a letter cannot lack, every part's length.
    pub fn check(&self) -> Result<ReplyDocument, (&'static str, Invalid)> {
        Ok(ReplyDocument {
            doc_number: bounded("doc_number", &self.doc_number, 60, false, "文号")?,
            title: bounded("title", &self.title, 200, true, "标题")?,
            salutation: bounded("salutation", &self.salutation, 300, true, "称谓")?,
            body: bounded("body", &self.body, 30_000, true, "正文")?,
            signer: bounded("signer", &self.signer, 60, true, "落款单位")?,
            date: bounded("date", &self.date, 30, true, "落款日期")?,
            footer: bounded("footer", &self.footer, 1000, false, "承办及联系人")?,
        })
    }

    /// The body's lines with their roles, blank lines dropped.
    pub fn lines(&self) -> Vec<(LineRole, &str)> {
        self.body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| (line_role(l), l))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(co: &'a [String], reply: &'a str) -> ReplySource<'a> {
        ReplySource {
            kind: Some(ProposalKind::Proposal),
            year: 2023,
            session: "政协广元市朝天区七届三次全会",
            number: "15",
            title: "关于加强全区未成年人关爱保护工作的建议",
            proposer: "刘安泽",
            co_signers: co,
            reply,
            lead_unit: "区民政局",
        }
    }

    #[test]
    fn the_draft_follows_the_seeds_layout_and_quotes_the_figures() {
        let co = vec!["徐丽娟".to_string(), " ".to_string()];
        let figures = ReplyFigures {
            place: "朝天区".into(),
            year: 2023,
            network: Some(NetworkFigures {
                stations: 12,
                work_points: 139,
                supervisors: 12,
                directors: 139,
            }),
            ledger_children: Some(412),
            allowances: Some("2023年（截至9月）累计发放孤儿基本生活费12.36万元，共惠及57人".into()),
            activities: Some(ActivityFigures {
                activities: 20,
                participants: 900,
                children_reached: 650,
                materials: 0,
            }),
            services: None,
        };
        let d = draft(
            &source(&co, "一是完善联席会议制度。\n\n二是充实基层力量。"),
            &figures,
            NaiveDate::from_ymd_opt(2023, 10, 11).unwrap(),
        );
        assert_eq!(
            d.title,
            "关于政协广元市朝天区七届三次全会第15号委员提案的答复"
        );
        assert_eq!(d.salutation, "尊敬的刘安泽、徐丽娟委员：");
        assert_eq!(
            (d.signer.as_str(), d.date.as_str()),
            ("区民政局", "2023年10月11日")
        );
        let lines = d.lines();
        assert!(lines[0]
            .1
            .contains("《关于加强全区未成年人关爱保护工作的建议》（第15号提案）"));
        assert_eq!(lines[1], (LineRole::Heading, "一、工作开展情况"));
        assert_eq!(lines[2].0, LineRole::SubHeading);
        assert!(
            lines[2].1.contains("工作站12个、工作点139个") && lines[2].1.contains("儿童主任139名")
        );
        assert!(lines[3].1.starts_with("（二）建立动态台账。全区412名"));
        assert!(lines[4].1.contains("12.36万元，共惠及57人。"));
        assert!(lines[5]
            .1
            .contains("活动20场次，参与900人次，覆盖儿童650人次。"));
        // No services recorded: no sentence about them; the reply follows, one line each.
        assert!(!d.body.contains("社会工作者"));
        assert_eq!(lines[6], (LineRole::Heading, "二、关于所提建议的办理情况"));
        assert_eq!(lines[7].1, "一是完善联席会议制度。");
        assert_eq!(lines[8].1, "二是充实基层力量。");
        assert_eq!(lines.last().unwrap().1, "此复。");
    }

    #[test]
    fn a_draft_without_figures_or_reply_says_what_to_write() {
        let d = draft(
            &ReplySource {
                kind: Some(ProposalKind::Suggestion),
                session: "",
                ..source(&[], "")
            },
            &ReplyFigures {
                place: "苍溪县".into(),
                year: 2026,
                network: Some(NetworkFigures::default()),
                ledger_children: Some(0),
                ..ReplyFigures::default()
            },
            NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
        );
        assert_eq!(d.title, "关于2023年第15号代表建议的答复");
        assert_eq!(d.salutation, "尊敬的刘安泽代表：");
        assert!(d
            .body
            .contains("一、关于所提建议的办理情况\n（请逐条写明对各项建议的办理情况。）"));
        assert!(d.body.contains("全县未成年人保护工作"));
    }

    #[test]
    fn headings_are_numbered_lines_and_nothing_else() {
        assert_eq!(line_role("三、下一步工作"), LineRole::Heading);
        assert_eq!(line_role("十二、其他"), LineRole::Heading);
        assert_eq!(line_role("（四）强化司法保护。"), LineRole::SubHeading);
        assert_eq!(line_role("一是完善制度。"), LineRole::Paragraph);
        assert_eq!(line_role("（注：数据截至9月）"), LineRole::Paragraph);
        assert_eq!(line_role("2023年以来，"), LineRole::Paragraph);
    }

    #[test]
    fn an_edited_document_names_the_part_it_lacks() {
        let ok = ReplyDocument {
            title: " 关于第15号提案的答复 ".into(),
            salutation: "尊敬的刘安泽委员：".into(),
            body: "答复如下：".into(),
            signer: "区民政局".into(),
            date: "2026年12月6日".into(),
            ..ReplyDocument::default()
        };
        assert_eq!(ok.check().unwrap().title, "关于第15号提案的答复");
        let no_signer = ReplyDocument {
            signer: " ".into(),
            ..ok.clone()
        };
        assert_eq!(no_signer.check().unwrap_err().0, "signer");
        let long = ReplyDocument {
            body: "字".repeat(30_001),
            ..ok
        };
        assert_eq!(long.check().unwrap_err().0, "body");
    }
}
