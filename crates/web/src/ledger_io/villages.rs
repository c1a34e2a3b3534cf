//! Finding the village a ledger row names: by 12-digit code, or by name as people write
//! it, narrowed by the township, or found inside an address.

use std::collections::HashMap;

use weibao_domain::record::short_village_name;
use weibao_domain::DivisionCode;
use weibao_sheets::normalise_text;

/// Finds the village a row names: a 12-digit code, or a name as people write it
/// (朝天村 for 朝天村村民委员会), within the import's division, narrowed by the township
/// where the row names one (a county has several 新村). Indexed by every form of the name,
/// so a province's 60,000 villages cost one lookup a row.
pub struct Villages {
    list: Vec<(DivisionCode, String, String)>,
    /// Each village's township as [`township_key`] writes it, beside `list`.
    townships: Vec<String>,
    by_code: HashMap<DivisionCode, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

/// The forms a village's name is written in: full, without 村民委员会/居委会, and without a
/// trailing 村/社区 word.
fn name_keys(name: &str) -> Vec<String> {
    let short = short_village_name(name);
    let bare = short.trim_end_matches(['村', '社', '区']);
    let mut keys = vec![name.to_string(), short.to_string()];
    if !bare.is_empty() {
        keys.push(format!("~{bare}"));
    }
    keys.dedup();
    keys
}

/// A township's name as people write it: 朝天镇, 朝天, 朝天镇人民政府 and 东坝街道办事处
/// all come to the same key.
pub(crate) fn township_key(name: &str) -> &str {
    let name = name.trim();
    let name = ["人民政府", "办事处"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    let bare = ["街道", "镇", "乡"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    if bare.is_empty() {
        name
    } else {
        bare
    }
}

impl Villages {
    /// From (code, name, township name) rows, as [`Store::villages_within`] gives them.
    pub fn new(list: Vec<(DivisionCode, String, String)>) -> Villages {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (code, name, _)) in list.iter().enumerate() {
            by_code.insert(*code, i);
            // As the reader gives cells: 赵庄（西） in the database is 赵庄(西) in a row.
            for key in name_keys(&normalise_text(name)) {
                let entry = by_name.entry(key).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        let townships = list
            .iter()
            .map(|(_, _, t)| township_key(&normalise_text(t)).to_string())
            .collect();
        Villages {
            list,
            townships,
            by_code,
            by_name,
        }
    }

    /// The village named inside an address ("朝天镇朝天村三组"), for sheets that have no
    /// village column: every full or short village name written in the text, narrowed by
    /// a township also written there. `what` names the column in messages.
    pub fn find_in(&self, address: &str, what: &str) -> Result<DivisionCode, String> {
        let text = normalise_text(address);
        if text.is_empty() {
            return Err(format!(
                "表中没有所在村（居）列，{what}也是空的：请填写{what}（写明村或社区），或加一列“所在村”"
            ));
        }
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut found: Vec<usize> = Vec::new();
        for (i, (start, _)) in chars.iter().enumerate() {
            for len in 2..=16 {
                let Some(end) = chars
                    .get(i + len)
                    .map(|(e, _)| *e)
                    .or((i + len == chars.len()).then_some(text.len()))
                else {
                    break;
                };
                if let Some(hits) = self.by_name.get(&text[*start..end]) {
                    for h in hits {
                        if !found.contains(h) {
                            found.push(*h);
                        }
                    }
                }
            }
        }
        if found.len() > 1 {
            let in_township: Vec<usize> = found
                .iter()
                .copied()
                .filter(|i| text.contains(self.townships[*i].as_str()))
                .collect();
            if !in_township.is_empty() {
                found = in_township;
            }
        }
        match found.as_slice() {
            [one] => Ok(self.list[*one].0),
            [] => Err(format!(
                "表中没有所在村（居）列，{what}“{text}”中也找不到本次导入范围内的村（居）名称：请在{what}中写明村或社区，或加一列“所在村”"
            )),
            many => Err(format!(
                "{what}“{text}”中有 {} 个村（居）名称：{}；请加一列“所在村”写明",
                many.len(),
                many.iter()
                    .take(5)
                    .map(|i| self.list[*i].1.clone())
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }

    /// The village a row's code, or name and township, stand for; or why none does.
    pub fn resolve(
        &self,
        code: Option<&str>,
        name: Option<&str>,
        township: Option<&str>,
    ) -> Result<DivisionCode, String> {
        if let Some(c) = code.or(name.filter(|n| n.chars().all(|c| c.is_ascii_digit()))) {
            let parsed = DivisionCode::parse(c).map_err(|e| e.message)?;
            return self
                .by_code
                .get(&parsed)
                .map(|i| self.list[*i].0)
                .ok_or_else(|| format!("村代码 {c} 不在本次导入的范围内"));
        }
        let Some(name) = name else {
            return Err("请填写儿童所在的村（居）名称或 12 位代码".into());
        };
        let wanted = &normalise_text(name);
        let bare = wanted.trim_end_matches(['村', '社', '区']);
        let found = self
            .by_name
            .get(wanted)
            .or_else(|| self.by_name.get(&format!("~{bare}")))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let in_township: Vec<usize>;
        let found = match township.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if !found.is_empty() => {
                let t = &normalise_text(t);
                let key = township_key(t);
                in_township = found
                    .iter()
                    .copied()
                    .filter(|i| self.townships[*i] == key)
                    .collect();
                if in_township.is_empty() {
                    let (_, _, there) = &self.list[found[0]];
                    return Err(if found.len() == 1 {
                        format!(
                            "村（居）“{wanted}”属于{there}，与所填乡镇“{t}”不符：请核对乡镇或村名"
                        )
                    } else {
                        format!("乡镇“{t}”下没有村（居）“{wanted}”：请核对乡镇或村名")
                    });
                }
                in_township.as_slice()
            }
            _ => found,
        };
        match found {
            [one] => Ok(self.list[*one].0),
            [] => Err(format!(
                "找不到村（居）“{wanted}”：请核对名称，或填写 12 位村代码"
            )),
            many => Err(format!(
                "“{wanted}”有 {} 个同名村（居）：{}；请填写所在乡镇（街道）或 12 位村代码区分",
                many.len(),
                many.iter()
                    .take(5)
                    .map(|i| {
                        let (c, n, t) = &self.list[*i];
                        format!("{t}{n}（{}）", c.full())
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> DivisionCode {
        DivisionCode::parse(c).unwrap()
    }

    /// Two 新村 in two townships of one county, and a village whose name is unique.
    fn villages() -> Villages {
        Villages::new(vec![
            (
                code("510812100201"),
                "新村村民委员会".into(),
                "朝天镇".into(),
            ),
            (code("510812200201"), "新村".into(), "麻柳乡".into()),
            (code("510812200202"), "清河村".into(), "麻柳乡".into()),
            (
                code("510811100201"),
                "丙村社区居委会".into(),
                "东坝街道".into(),
            ),
        ])
    }

    #[test]
    fn a_township_tells_apart_villages_that_share_a_name() {
        let v = villages();
        // Without a township the name is ambiguous, and the message names both places and
        // both ways out.
        let err = v.resolve(None, Some("新村"), None).unwrap_err();
        assert!(err.contains("2 个同名村"), "{err}");
        assert!(err.contains("朝天镇") && err.contains("麻柳乡"), "{err}");
        assert!(err.contains("所在乡镇"), "{err}");
        // The township as people write it: with or without 镇/乡/街道, or as its office.
        for t in ["朝天镇", "朝天", " 朝天镇人民政府 "] {
            assert_eq!(
                v.resolve(None, Some("新村"), Some(t)),
                Ok(code("510812100201")),
                "{t}"
            );
        }
        assert_eq!(
            v.resolve(None, Some("新村"), Some("麻柳乡")),
            Ok(code("510812200201"))
        );
        assert_eq!(
            v.resolve(None, Some("丙村"), Some("东坝街道办事处")),
            Ok(code("510811100201"))
        );
        // A township that does not hold the village is refused, not guessed past.
        let err = v.resolve(None, Some("清河村"), Some("朝天镇")).unwrap_err();
        assert!(
            err.contains("属于麻柳乡") && err.contains("朝天镇"),
            "{err}"
        );
        let err = v.resolve(None, Some("新村"), Some("东坝街道")).unwrap_err();
        assert!(err.contains("东坝街道") && err.contains("没有"), "{err}");
        // A code wins over names; a blank township changes nothing.
        assert_eq!(
            v.resolve(Some("510812200201"), Some("新村"), Some("朝天镇")),
            Ok(code("510812200201"))
        );
        assert_eq!(
            v.resolve(None, Some("清河村"), Some(" ")),
            Ok(code("510812200202"))
        );
    }

    #[test]
    fn names_match_as_the_reader_gives_cells() {
        // The reader makes full-width brackets half-width; the database keeps the
        // official full-width ones.
        let v = Villages::new(vec![(
            code("371426103230"),
            "红运社区（西）赵庄村民委员会".into(),
            "红运社区（西）街道".into(),
        )]);
        let cell = weibao_sheets::normalise_text("红运社区（西）赵庄村民委员会");
        assert_eq!(cell, "红运社区(西)赵庄村民委员会");
        for name in [cell.as_str(), "红运社区（西）赵庄", "红运社区(西)赵庄村"] {
            assert_eq!(
                v.resolve(None, Some(name), Some("红运社区(西)")),
                Ok(code("371426103230")),
                "{name}"
            );
        }
    }

    #[test]
    fn a_village_is_found_inside_an_address() {
        let v = villages();
        assert_eq!(
            v.find_in("朝天镇新村三组", "现住址"),
            Ok(code("510812100201")),
            "the township narrows two 新村"
        );
        assert_eq!(
            v.find_in("麻柳乡清河村5号", "现住址"),
            Ok(code("510812200202"))
        );
        let err = v.find_in("新村二组", "现住址").unwrap_err();
        assert!(err.contains("2 个村"), "{err}");
        let err = v.find_in("广元市利州区某街", "现住址").unwrap_err();
        assert!(err.contains("找不到"), "{err}");
        let err = v.find_in("", "现住址").unwrap_err();
        assert!(err.contains("空的"), "{err}");
    }
}
