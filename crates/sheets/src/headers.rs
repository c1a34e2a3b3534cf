//! Recognising what a column header means: the exact headers a region configured first,
//! then key words with a score, so that the endless ways people head a column
//! (所在村（社区）, 村（社区）名称, 监护人联系电话, 家长联系方式, …) all find their field.

use std::collections::BTreeMap;

/// Full-width ASCII to half-width; ideographic and no-break spaces to plain spaces.
pub(crate) fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c,
    }
}

/// Characters that text copied from web pages and chat apps carries unseen; they make an
/// ID number look right and fail every check.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// A header as compared: half-width, no whitespace or line breaks, no required marks
/// (`*`, a trailing "(必填)"), lower case. Brackets are kept (see [`Forms`]).
pub(crate) fn normalise_header(h: &str) -> String {
    let s: String = h
        .chars()
        .map(half_width)
        .map(|c| match c {
            '【' | '〔' | '［' => '(',
            '】' | '〕' | '］' => ')',
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !is_invisible(*c) && *c != '*')
        .collect::<String>()
        .to_lowercase();
    match s.strip_suffix("(必填)") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

/// The forms of one header: as written; with the brackets dropped and their content kept
/// ("所在村(社区)" → "所在村社区"); and without the bracketed part ("所在村").
struct Forms {
    full: String,
    inline: String,
    outside: String,
}

impl Forms {
    fn of(header: &str) -> Forms {
        let full = normalise_header(header);
        let mut inline = String::with_capacity(full.len());
        let mut outside = String::with_capacity(full.len());
        let mut depth = 0u32;
        for c in full.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {
                    inline.push(c);
                    if depth == 0 {
                        outside.push(c);
                    }
                }
            }
        }
        Forms {
            full,
            inline,
            outside,
        }
    }
}

/// A key-word rule for one field: every group must have one of its words in the header,
/// no excluded word may be there. The score grows with the weight and with the length of
/// the words matched, so the more specific rule wins ("监护人联系电话" is the guardian's
/// phone, not just any phone).
#[derive(Debug, Clone)]
pub struct FieldRule {
    pub field: String,
    pub weight: u32,
    pub all_of: Vec<Vec<String>>,
    pub none_of: Vec<String>,
}

impl FieldRule {
    pub fn new(field: &str, weight: u32) -> FieldRule {
        FieldRule {
            field: field.to_string(),
            weight,
            all_of: Vec::new(),
            none_of: Vec::new(),
        }
    }

    /// One of these words must be in the header.
    pub fn any(mut self, words: &[&str]) -> FieldRule {
        self.all_of
            .push(words.iter().map(|w| normalise_header(w)).collect());
        self
    }

    /// None of these words may be in the header.
    pub fn none(mut self, words: &[&str]) -> FieldRule {
        self.none_of
            .extend(words.iter().map(|w| normalise_header(w)));
        self
    }

    fn score(&self, text: &str) -> Option<u32> {
        if text.is_empty() || self.none_of.iter().any(|w| text.contains(w.as_str())) {
            return None;
        }
        let mut matched = 0u32;
        for group in &self.all_of {
            let longest = group
                .iter()
                .filter(|w| text.contains(w.as_str()))
                .map(|w| w.chars().count() as u32)
                .max()?;
            matched += longest;
        }
        Some(self.weight * 100 + matched)
    }
}

/// Scores of an exact header match: configured aliases beat any key word.
const EXACT: u32 = 10_000;
const EXACT_FORM: u32 = 9_000;

/// Recognises headers: exact aliases (the region's own words, configurable) first, then
/// key-word rules.
#[derive(Debug, Clone)]
pub struct HeaderMatcher {
    /// (normalised header, field), in the order given: the first pair wins.
    aliases: Vec<(String, String)>,
    rules: Vec<FieldRule>,
}

impl HeaderMatcher {
    /// A matcher of exact aliases: canonical field → the headers people write for it.
    /// A matcher whose fields are known by one header each (field, header), before rules.
    pub fn labelled(fields: &[(&str, &str)]) -> HeaderMatcher {
        HeaderMatcher::new(
            fields
                .iter()
                .map(|(k, l)| (k.to_string(), vec![l.to_string()]))
                .collect(),
        )
    }

    pub fn new(pairs: Vec<(String, Vec<String>)>) -> HeaderMatcher {
        let aliases = pairs
            .into_iter()
            .flat_map(|(field, aliases)| {
                aliases
                    .into_iter()
                    .map(move |a| (normalise_header(&a), field.clone()))
            })
            .filter(|(alias, _)| !alias.is_empty())
            .collect();
        HeaderMatcher {
            aliases,
            rules: Vec::new(),
        }
    }

    /// Adds key-word rules, tried when no alias matches exactly.
    pub fn with_rules(mut self, rules: Vec<FieldRule>) -> HeaderMatcher {
        self.rules.extend(rules);
        self
    }

    /// Every field this matcher can name.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in self
            .aliases
            .iter()
            .map(|(_, f)| f.as_str())
            .chain(self.rules.iter().map(|r| r.field.as_str()))
        {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// The fields a header could mean with their scores, best first. Full-width forms,
    /// whitespace and line breaks, required marks and letter case do not matter; a
    /// bracketed part counts both as part of the header and as something to leave out.
    pub fn scores(&self, header: &str) -> Vec<(String, u32)> {
        let forms = Forms::of(header);
        if forms.full.is_empty() {
            return Vec::new();
        }
        let mut best: BTreeMap<&str, u32> = BTreeMap::new();
        let exact = self
            .aliases
            .iter()
            .find(|(a, _)| *a == forms.full)
            .map(|(_, f)| (f, EXACT))
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|(a, _)| *a == forms.inline || *a == forms.outside)
                    .map(|(_, f)| (f, EXACT_FORM))
            });
        if let Some((f, s)) = exact {
            best.insert(f, s);
        }
        for text in [&forms.inline, &forms.outside] {
            let mut any = false;
            for rule in &self.rules {
                if let Some(s) = rule.score(text) {
                    let slot = best.entry(&rule.field).or_insert(0);
                    *slot = (*slot).max(s);
                    any = true;
                }
            }
            // The bracketed part is left out only when the header means nothing with it.
            if any || forms.outside == forms.inline {
                break;
            }
        }
        let mut out: Vec<(String, u32)> =
            best.into_iter().map(|(f, s)| (f.to_string(), s)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The field a header means best, if any.
    pub fn field_of(&self, header: &str) -> Option<String> {
        self.scores(header).into_iter().next().map(|(f, _)| f)
    }
}

/// A column's letters as Excel shows them: 0 → A, 25 → Z, 26 → AA.
pub fn column_letter(index: u32) -> String {
    let mut n = index as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 0-based index of a column named by its letters ("H", "aa"); None when not letters
/// or past Excel's last column (XFD).
pub fn column_index(letters: &str) -> Option<u32> {
    let s = letters.trim();
    if s.is_empty() || s.len() > 3 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut n = 0u32;
    for c in s.chars() {
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    (n <= 16_384).then(|| n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> HeaderMatcher {
        HeaderMatcher::new(vec![("village".into(), vec!["村居".into()])]).with_rules(vec![
            FieldRule::new("village", 2)
                .any(&["村", "社区"])
                .none(&["代码", "乡镇"]),
            FieldRule::new("village_code", 3)
                .any(&["代码"])
                .any(&["村", "社区"]),
            FieldRule::new("guardian_phone", 3)
                .any(&["监护人", "家长"])
                .any(&["电话", "联系方式"]),
            FieldRule::new("guardian_phone", 1)
                .any(&["电话", "手机", "联系方式"])
                .none(&["父亲", "母亲"]),
            FieldRule::new("id_number", 2)
                .any(&["身份证"])
                .none(&["监护"]),
            FieldRule::new("guardian_id_number", 3)
                .any(&["监护"])
                .any(&["身份证"]),
        ])
    }

    #[test]
    fn key_words_find_the_field_whatever_the_wording() {
        let m = matcher();
        for h in [
            "所在村（社区）",
            "村（社区）名称",
            "现住村",
            "村\n(社区)",
            "社区",
        ] {
            assert_eq!(m.field_of(h).as_deref(), Some("village"), "{h}");
        }
        assert_eq!(m.field_of("村代码").as_deref(), Some("village_code"));
        assert_eq!(
            m.field_of("监护人联系电话").as_deref(),
            Some("guardian_phone")
        );
        assert_eq!(
            m.field_of("家长联系方式").as_deref(),
            Some("guardian_phone")
        );
        assert_eq!(
            m.field_of("父亲电话"),
            None,
            "a parent's phone is not the guardian's"
        );
        assert_eq!(m.field_of("爱好"), None);
        assert_eq!(m.field_of(""), None);
    }

    #[test]
    fn the_more_specific_rule_wins_and_brackets_count_both_ways() {
        let m = matcher();
        let scores = m.scores("监护人电话");
        assert_eq!(scores[0].0, "guardian_phone");
        assert!(scores[0].1 >= 300, "{scores:?}");
        // The bracketed word belongs to the header: the guardian's number, not the child's.
        assert_eq!(
            m.field_of("身份证号（监护人）").as_deref(),
            Some("guardian_id_number")
        );
        // An exact alias beats key words, also with its bracketed part left out.
        assert_eq!(m.scores("村居")[0].1, EXACT);
        assert_eq!(m.scores("村居（必填项）")[0].1, EXACT_FORM);
    }

    #[test]
    fn column_letters_go_both_ways() {
        for (i, l) in [
            (0, "A"),
            (7, "H"),
            (25, "Z"),
            (26, "AA"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_letter(i), l);
            assert_eq!(column_index(l), Some(i));
        }
        assert_eq!(column_index("h"), Some(7));
        assert_eq!(column_index("XFD"), Some(16_383));
        assert_eq!(column_index("XFE"), None);
        assert_eq!(column_index("A1"), None);
        assert_eq!(column_index(""), None);
    }
}
