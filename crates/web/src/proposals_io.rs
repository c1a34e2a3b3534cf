//! A proposal's reply document as a Word file (.docx), in the formal layout of seeds 000
//! and 002: 文号, title, salutation, the letter (headings and sub-headings set apart), the
//! signing unit and the date flush right, then the contact lines.

use weibao_domain::proposals::reply_document::{LineRole, ReplyDocument};
use weibao_sheets::docx::{write_docx, Paragraph, Setting};

/// The document's paragraphs as the layout sets them.
pub fn paragraphs(doc: &ReplyDocument) -> Vec<Paragraph> {
    let mut out = Vec::new();
    if !doc.doc_number.trim().is_empty() {
        out.push(Paragraph::new(Setting::DocNumber, doc.doc_number.trim()));
    }
    out.push(Paragraph::new(Setting::Title, doc.title.trim()));
    out.push(Paragraph::new(Setting::Plain, doc.salutation.trim()));
    for (role, line) in doc.lines() {
        let setting = match role {
            LineRole::Heading => Setting::Heading,
            LineRole::SubHeading => Setting::SubHeading,
            LineRole::Paragraph => Setting::Text,
        };
        out.push(Paragraph::new(setting, line));
    }
    out.push(Paragraph::new(Setting::Blank, ""));
    out.push(Paragraph::new(Setting::Signature, doc.signer.trim()));
    out.push(Paragraph::new(Setting::Signature, doc.date.trim()));
    let footer: Vec<&str> = doc
        .footer
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !footer.is_empty() {
        out.push(Paragraph::new(Setting::Blank, ""));
        out.extend(
            footer
                .into_iter()
                .map(|l| Paragraph::new(Setting::Plain, l)),
        );
    }
    out
}

/// The .docx of a reply document; `created` is RFC 3339 UTC.
pub fn reply_docx(doc: &ReplyDocument, created: &str) -> Vec<u8> {
    write_docx(&doc.title, created, &paragraphs(doc)).expect("writing to memory does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_is_laid_out_part_by_part() {
        let doc = ReplyDocument {
            doc_number: "朝民函〔2026〕12号".into(),
            title: "关于第15号委员提案的答复".into(),
            salutation: "尊敬的刘安泽委员：".into(),
            body: "答复如下：\n\n一、工作开展情况\n（一）健全网络。建成工作站12个。\n此复。".into(),
            signer: "区民政局".into(),
            date: "2026年12月6日".into(),
            footer: "联系人：张作\n\n联系电话：0839-8622541".into(),
        };
        let laid = paragraphs(&doc);
        let settings: Vec<(Setting, &str)> =
            laid.iter().map(|p| (p.setting, p.text.as_str())).collect();
        assert_eq!(
            settings,
            vec![
                (Setting::DocNumber, "朝民函〔2026〕12号"),
                (Setting::Title, "关于第15号委员提案的答复"),
                (Setting::Plain, "尊敬的刘安泽委员："),
                (Setting::Text, "答复如下："),
                (Setting::Heading, "一、工作开展情况"),
                (Setting::SubHeading, "（一）健全网络。建成工作站12个。"),
                (Setting::Text, "此复。"),
                (Setting::Blank, ""),
                (Setting::Signature, "区民政局"),
                (Setting::Signature, "2026年12月6日"),
                (Setting::Blank, ""),
                (Setting::Plain, "联系人：张作"),
                (Setting::Plain, "联系电话：0839-8622541"),
            ]
        );
        let text =
            weibao_sheets::docx::read_docx_text(&reply_docx(&doc, "2026-12-06T00:00:00Z")).unwrap();
        assert_eq!(text[1], "关于第15号委员提案的答复");
        assert_eq!(text.len(), 13);
    }
}
