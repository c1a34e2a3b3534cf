//! Word documents out (.docx, the WordprocessingML that Word and WPS open and edit): a
//! letter in the layout of the Party and government documents standard (GB/T 9704): A4,
//! margins 37/35/28/26 mm, 28-point lines, the title in 小标宋 二号, headings in 黑体 and
//! 楷体, the text in 仿宋 三号 with two characters' indent. Fonts a machine lacks are
//! replaced by the reader's, as Word does.
//!
//! And the text back out of one, paragraph by paragraph, for checking what was written.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// How a paragraph is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// 文号 under the letterhead: centred.
    DocNumber,
    /// 标题: 小标宋 二号, centred.
    Title,
    /// 一、…: 黑体, indented two characters.
    Heading,
    /// （一）…。: the words up to the first 。 in 楷体, the rest as text.
    SubHeading,
    /// The text: 仿宋 三号, first line indented two characters.
    Text,
    /// Flush left, no indent (the salutation, the contact lines).
    Plain,
    /// Flush right, four characters in (the signing unit and the date).
    Signature,
    /// An empty line.
    Blank,
}

/// A paragraph to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    pub setting: Setting,
    pub text: String,
}

impl Paragraph {
    pub fn new(setting: Setting, text: impl Into<String>) -> Paragraph {
        Paragraph {
            setting,
            text: text.into(),
        }
    }
}

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const TEXT_FONT: &str = "仿宋_GB2312";
const TITLE_FONT: &str = "方正小标宋简体";
const HEADING_FONT: &str = "黑体";
const SUBHEADING_FONT: &str = "楷体_GB2312";

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Characters XML 1.0 cannot hold (controls other than tab) are dropped.
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn run(text: &str, font: Option<&str>, size: Option<u32>) -> String {
    let mut props = String::new();
    if let Some(f) = font {
        props.push_str(&format!(
            r#"<w:rFonts w:ascii="{f}" w:eastAsia="{f}" w:hAnsi="{f}"/>"#
        ));
    }
    if let Some(sz) = size {
        props.push_str(&format!(r#"<w:sz w:val="{sz}"/><w:szCs w:val="{sz}"/>"#));
    }
    let props = if props.is_empty() {
        String::new()
    } else {
        format!("<w:rPr>{props}</w:rPr>")
    };
    format!(
        r#"<w:r>{props}<w:t xml:space="preserve">{}</w:t></w:r>"#,
        escape(text)
    )
}

fn paragraph_xml(p: &Paragraph) -> String {
    const INDENT: &str = r#"<w:ind w:firstLineChars="200" w:firstLine="640"/>"#;
    let (ppr, runs) = match p.setting {
        Setting::DocNumber => (
            r#"<w:jc w:val="center"/>"#.to_string(),
            run(&p.text, None, None),
        ),
        Setting::Title => (
            r#"<w:spacing w:before="240" w:after="240" w:line="720" w:lineRule="exact"/><w:jc w:val="center"/>"#
                .to_string(),
            run(&p.text, Some(TITLE_FONT), Some(44)),
        ),
        Setting::Heading => (INDENT.to_string(), run(&p.text, Some(HEADING_FONT), None)),
        Setting::SubHeading => {
            let cut = p.text.find('。').map(|i| i + '。'.len_utf8());
            let (head, rest) = p.text.split_at(cut.unwrap_or(p.text.len()));
            let mut runs = run(head, Some(SUBHEADING_FONT), None);
            if !rest.is_empty() {
                runs.push_str(&run(rest, None, None));
            }
            (INDENT.to_string(), runs)
        }
        Setting::Text => (INDENT.to_string(), run(&p.text, None, None)),
        Setting::Plain => (String::new(), run(&p.text, None, None)),
        Setting::Signature => (
            r#"<w:ind w:right="1280"/><w:jc w:val="right"/>"#.to_string(),
            run(&p.text, None, None),
        ),
        Setting::Blank => (String::new(), String::new()),
    };
    format!("<w:p><w:pPr>{ppr}</w:pPr>{runs}</w:p>")
}

fn document_xml(paragraphs: &[Paragraph]) -> String {
    let body: String = paragraphs.iter().map(paragraph_xml).collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1588" w:header="851" w:footer="992" w:gutter="0"/><w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr></w:body></w:document>"#
    )
}

fn styles_xml() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W}"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="{TEXT_FONT}" w:eastAsia="{TEXT_FONT}" w:hAnsi="{TEXT_FONT}" w:cs="Times New Roman"/><w:kern w:val="2"/><w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:widowControl w:val="0"/><w:spacing w:line="560" w:lineRule="exact"/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style></w:styles>"#
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

const APP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Weibao</Application></Properties>"#;

fn core_xml(title: &str, created: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created></cp:coreProperties>"#,
        escape(title)
    )
}

/// Writes a document: `title` is its property (the title bar), `created` an RFC 3339 UTC
/// time (2026-12-06T08:00:00Z).
pub fn write_docx(title: &str, created: &str, paragraphs: &[Paragraph]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let parts: [(&str, String); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", ROOT_RELS.to_string()),
        ("docProps/core.xml", core_xml(title, created)),
        ("docProps/app.xml", APP.to_string()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.to_string()),
        ("word/styles.xml", styles_xml()),
    ];
    let document = document_xml(paragraphs);
    for (name, text) in parts
        .iter()
        .map(|(n, t)| (*n, t.as_str()))
        .chain([("word/document.xml", document.as_str())])
    {
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// The largest document.xml read back.
const MAX_DOCUMENT_XML: u64 = 20 * 1024 * 1024;

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of each paragraph of a .docx (its w:t runs joined), in order.
pub fn read_docx_text(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let file = archive
        .by_name("word/document.xml")
        .map_err(|e| e.to_string())?;
    let mut xml = String::new();
    file.take(MAX_DOCUMENT_XML)
        .read_to_string(&mut xml)
        .map_err(|e| e.to_string())?;
    let mut paragraphs = Vec::new();
    let mut rest = xml.as_str();
    let next = |s: &str| match (s.find("<w:p>"), s.find("<w:p ")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    while let Some(start) = next(rest) {
        let after = &rest[start..];
        let end = after.find("</w:p>").unwrap_or(after.len());
        let p = &after[..end];
        let mut text = String::new();
        let mut runs = p;
        while let Some(t) = runs.find("<w:t") {
            let open = &runs[t..];
            // <w:tab/>, <w:tbl…> are not text runs.
            let tag_end = open.find('>').unwrap_or(open.len());
            let tag = &open[..tag_end];
            if !(tag == "<w:t" || tag.starts_with("<w:t ")) || tag.ends_with('/') {
                runs = &open[tag_end.min(open.len())..];
                continue;
            }
            let content = &open[tag_end + 1..];
            let close = content.find("</w:t>").unwrap_or(content.len());
            text.push_str(&unescape(&content[..close]));
            runs = &content[close..];
        }
        paragraphs.push(text);
        rest = &after[end..];
    }
    Ok(paragraphs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_comes_back_paragraph_by_paragraph_with_its_settings() {
        let paragraphs = vec![
            Paragraph::new(Setting::DocNumber, "朝民函〔2026〕12号"),
            Paragraph::new(Setting::Title, "关于第15号委员提案的答复"),
            Paragraph::new(Setting::Plain, "尊敬的刘安泽委员："),
            Paragraph::new(Setting::Heading, "一、工作开展情况"),
            Paragraph::new(
                Setting::SubHeading,
                "（一）健全工作网络。建成工作站12个 & 工作点<139>个。",
            ),
            Paragraph::new(Setting::Blank, ""),
            Paragraph::new(Setting::Signature, "区民政局"),
        ];
        let bytes = write_docx("答复", "2026-12-06T08:00:00Z", &paragraphs).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let text = read_docx_text(&bytes).unwrap();
        let expected: Vec<&str> = paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, expected);

        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        for part in [
            "[Content_Types].xml",
            "_rels/.rels",
            "word/_rels/document.xml.rels",
            "word/styles.xml",
            "docProps/core.xml",
        ] {
            archive.by_name(part).unwrap();
        }
        let mut xml = String::new();
        archive
            .by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        // The title in 小标宋 二号, the sub-heading's first sentence in 楷体 and the rest not,
        // the signature flush right, text escaped.
        assert!(xml.contains(r#"w:eastAsia="方正小标宋简体""#) && xml.contains(r#"w:val="44""#));
        assert!(xml.contains(r#"w:eastAsia="楷体_GB2312" w:hAnsi="楷体_GB2312"/></w:rPr><w:t xml:space="preserve">（一）健全工作网络。</w:t>"#));
        assert!(xml.contains("建成工作站12个 &amp; 工作点&lt;139&gt;个。"));
        assert!(xml.contains(r#"<w:jc w:val="right"/>"#));
        assert!(xml.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#));
    }

    #[test]
    fn control_characters_are_dropped_not_written() {
        let bytes = write_docx(
            "x",
            "2026-12-06T08:00:00Z",
            &[Paragraph::new(Setting::Text, "a\u{1}b\u{b}c")],
        )
        .unwrap();
        assert_eq!(read_docx_text(&bytes).unwrap(), vec!["abc".to_string()]);
    }
}
