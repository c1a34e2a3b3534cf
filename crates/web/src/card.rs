//! The 爱心陪伴卡 as SVG: the child's name, village, the director's name and phone, and a
//! QR code of the scan URL (an opaque token, never a personal datum).

use qrcode::{EcLevel, QrCode};
use weibao_store::Card;

/// Card size in millimetres (8 fit an A4 sheet, 2 × 4, with cut margins).
pub const CARD_W: f64 = 90.0;
pub const CARD_H: f64 = 60.0;
/// Space around the card for the cut marks.
const BLEED: f64 = 4.0;

/// Escapes text for SVG/XML content and attributes.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The scan URL a card carries.
pub fn scan_url(base: &str, token: &str) -> String {
    format!("{}/k/{token}", base.trim_end_matches('/'))
}

/// A QR code of `data` alone, as an SVG document (e.g. an authenticator app's setup URI).
pub fn qr_svg(data: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 50" width="200" height="200" role="img" aria-label="二维码">{}</svg>"##,
        qr_path(data, 0.0, 0.0, 50.0)
    )
}

/// The QR code of `data` as one SVG path, `size` mm wide, at (x, y).
fn qr_path(data: &str, x: f64, y: f64, size: f64) -> String {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .expect("a scan URL fits a QR code");
    let n = code.width();
    let quiet = 2usize;
    let cell = size / (n + 2 * quiet) as f64;
    let colors = code.to_colors();
    let mut d = String::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == qrcode::Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                d.push_str(&format!(
                    "M{:.3} {:.3}h{:.3}v{:.3}h-{:.3}z",
                    x + (start + quiet) as f64 * cell,
                    y + (row + quiet) as f64 * cell,
                    (col - start) as f64 * cell,
                    cell,
                    (col - start) as f64 * cell
                ));
            } else {
                col += 1;
            }
        }
    }
    format!(
        r##"<rect x="{x:.3}" y="{y:.3}" width="{size:.3}" height="{size:.3}" fill="#fff"/><path d="{d}" fill="#000" shape-rendering="crispEdges"/>"##
    )
}

/// One card with its cut marks, as a standalone SVG document sized in millimetres.
pub fn card_svg(card: &Card, base_url: &str) -> String {
    let w = CARD_W + 2.0 * BLEED;
    let h = CARD_H + 2.0 * BLEED;
    let (x0, y0) = (BLEED, BLEED);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family="'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',sans-serif">"##
    );
    // Cut marks at the four corners, outside the card.
    for (cx, cy) in [
        (x0, y0),
        (x0 + CARD_W, y0),
        (x0, y0 + CARD_H),
        (x0 + CARD_W, y0 + CARD_H),
    ] {
        let dx = if cx > w / 2.0 { 1.0 } else { -1.0 };
        let dy = if cy > h / 2.0 { 1.0 } else { -1.0 };
        s.push_str(&format!(
            r##"<path d="M{:.2} {cy:.2}H{:.2}M{cx:.2} {:.2}V{:.2}" stroke="#000" stroke-width="0.2"/>"##,
            cx + dx * 0.8,
            cx + dx * (BLEED - 0.3),
            cy + dy * 0.8,
            cy + dy * (BLEED - 0.3)
        ));
    }
    s.push_str(&format!(
        r##"<rect x="{x0}" y="{y0}" width="{CARD_W}" height="{CARD_H}" rx="3" fill="#fffaf3" stroke="#e8a04c" stroke-width="0.4"/>"##
    ));
    s.push_str(&format!(
        r##"<rect x="{x0}" y="{y0}" width="{CARD_W}" height="11" rx="3" fill="#e8a04c"/><rect x="{x0}" y="{:.1}" width="{CARD_W}" height="3" fill="#e8a04c"/>"##,
        y0 + 8.0
    ));
    s.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="5.2" font-weight="bold" fill="#fff">爱心陪伴卡</text>"##,
        x0 + 4.0,
        y0 + 7.6
    ));
    let name = xml_escape(&card.child_name);
    let village = xml_escape(&card.village);
    let director = xml_escape(card.director_name.as_deref().unwrap_or("（待指定）"));
    let phone = xml_escape(card.director_phone.as_deref().unwrap_or(""));
    let phone_line = if phone.is_empty() {
        "联系电话：请向村（居）委会询问".to_string()
    } else {
        format!("联系电话：{phone}")
    };
    let lines = [
        (y0 + 22.0, 6.0, "bold", name),
        (y0 + 31.0, 3.6, "normal", village),
        (y0 + 39.0, 3.4, "normal", format!("儿童主任：{director}")),
        (y0 + 45.0, 3.4, "normal", phone_line),
    ];
    for (y, size, weight, text) in lines {
        s.push_str(&format!(
            r##"<text x="{:.1}" y="{y:.1}" font-size="{size}" font-weight="{weight}" fill="#333">{text}</text>"##,
            x0 + 4.0
        ));
    }
    s.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="2.6" fill="#777">遇到困难请联系儿童主任 · 扫码记录探访 · 请妥善保管</text>"##,
        x0 + 4.0,
        y0 + CARD_H - 4.0
    ));
    let qr = 34.0;
    s.push_str(&qr_path(
        &scan_url(base_url, &card.token),
        x0 + CARD_W - qr - 3.0,
        y0 + 15.0,
        qr,
    ));
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str) -> Card {
        Card {
            child_id: "c".into(),
            token: "abcdefghijkmnpqrstuvwxyz23".into(),
            child_name: name.into(),
            village: "朝天村".into(),
            director_name: Some("王芳".into()),
            director_phone: Some("13800001234".into()),
        }
    }

    #[test]
    fn names_are_escaped_and_the_id_number_never_appears() {
        let svg = card_svg(&card("<script>x</script>"), "http://127.0.0.1:8080");
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains("王芳") && svg.contains("13800001234"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn the_qr_code_grows_with_the_url_and_is_deterministic() {
        let a = qr_path("http://h/k/abcdefghijkmnpqrstuvwxyz23", 0.0, 0.0, 30.0);
        assert_eq!(
            a,
            qr_path("http://h/k/abcdefghijkmnpqrstuvwxyz23", 0.0, 0.0, 30.0)
        );
        assert_ne!(
            a,
            qr_path("http://h/k/bbcdefghijkmnpqrstuvwxyz23", 0.0, 0.0, 30.0)
        );
    }
}
