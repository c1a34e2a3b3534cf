//! Server-drawn charts: the geometry of bar and line charts, laid out here in SVG user
//! units and drawn by templates/charts.html (no script, no library; the SVG scales to the
//! screen, so a 360 px phone shows the same chart narrower).

/// Width of every chart's viewBox.
const WIDTH: i64 = 320;
/// Horizontal bars: label column, bar area, and the row pitch.
const LABEL_W: i64 = 112;
const BAR_MAX: i64 = 160;
const ROW: i64 = 22;

/// One bar of a horizontal bar chart.
pub struct BarRow {
    pub label: String,
    pub text: String,
    pub href: Option<String>,
    /// Top of the row, and the bar's length.
    pub y: i64,
    pub bar_width: i64,
    /// Where the value is written (just after the bar).
    pub text_x: i64,
}

pub struct Bars {
    pub title: String,
    pub width: i64,
    pub height: i64,
    pub bar_x: i64,
    pub rows: Vec<BarRow>,
}

impl Bars {
    /// Bars scaled to the largest value; a value above zero keeps at least a sliver.
    pub fn new(title: &str, rows: Vec<(String, i64, Option<String>)>) -> Bars {
        let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, (label, value, href))| {
                let w = if value > 0 {
                    (value * BAR_MAX / max).max(2)
                } else {
                    0
                };
                BarRow {
                    label,
                    text: crate::text::grouped(value),
                    href,
                    y: i as i64 * ROW,
                    bar_width: w,
                    text_x: LABEL_W + w + 4,
                }
            })
            .collect::<Vec<_>>();
        Bars {
            title: title.into(),
            width: WIDTH,
            height: rows.len() as i64 * ROW,
            bar_x: LABEL_W,
            rows,
        }
    }
}

/// A point of a line chart, with its label below the axis (every other one shown).
pub struct LinePoint {
    pub x: i64,
    pub y: i64,
    pub label: String,
    pub show_label: bool,
    pub text: String,
}

pub struct Line {
    pub title: String,
    pub width: i64,
    pub height: i64,
    /// The polyline's points ("x,y x,y …").
    pub points: String,
    pub marks: Vec<LinePoint>,
    /// The axis's top value, written at the top left, and the baseline's y.
    pub max_text: String,
    pub base_y: i64,
}

impl Line {
    pub fn new(title: &str, values: Vec<(String, i64)>) -> Line {
        let (top, base) = (16i64, 110i64);
        let (left, right) = (36i64, WIDTH - 8);
        let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
        let n = values.len().max(2) as i64;
        let marks: Vec<LinePoint> = values
            .into_iter()
            .enumerate()
            .map(|(i, (label, v))| LinePoint {
                x: left + i as i64 * (right - left) / (n - 1),
                y: base - v * (base - top) / max,
                show_label: i % 2 == (n as usize - 1) % 2,
                label,
                text: crate::text::grouped(v),
            })
            .collect();
        Line {
            title: title.into(),
            width: WIDTH,
            height: base + 24,
            points: marks
                .iter()
                .map(|m| format!("{},{}", m.x, m.y))
                .collect::<Vec<_>>()
                .join(" "),
            marks,
            max_text: crate::text::grouped(max),
            base_y: base,
        }
    }
}

/// The shade (0 to 4) of a table cell: its value against the column's largest, so that
/// the division needing attention stands out.
pub fn heat(value: i64, max: i64) -> u8 {
    if value <= 0 || max <= 0 {
        return 0;
    }
    (1 + (value * 3 + max - 1) / max).min(4) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_keep_a_sliver_for_small_values() {
        let b = Bars::new(
            "类别",
            vec![
                ("孤儿".into(), 1000, None),
                ("事实无人抚养儿童".into(), 1, Some("/children?x".into())),
                ("困境儿童".into(), 0, None),
            ],
        );
        assert_eq!(b.rows[0].bar_width, BAR_MAX);
        assert_eq!(b.rows[1].bar_width, 2);
        assert_eq!(b.rows[2].bar_width, 0);
        assert_eq!(b.rows[0].text, "1,000");
        assert_eq!(b.rows[2].y, 2 * ROW);
        assert_eq!(b.height, 3 * ROW);
    }

    #[test]
    fn a_line_runs_from_the_left_axis_to_the_right_edge_with_the_peak_on_top() {
        let l = Line::new(
            "探访",
            (1..=12).map(|m| (format!("{m}月"), m * 10)).collect(),
        );
        assert_eq!(l.marks.first().unwrap().x, 36);
        assert_eq!(l.marks.last().unwrap().x, WIDTH - 8);
        assert_eq!(
            l.marks.last().unwrap().y,
            16,
            "the largest value reaches the top"
        );
        assert!(
            l.marks.last().unwrap().show_label,
            "the latest month is labelled"
        );
        assert_eq!(l.points.split(' ').count(), 12);
    }

    #[test]
    fn heat_grows_with_the_share_of_the_largest() {
        assert_eq!(heat(0, 10), 0);
        assert_eq!(heat(1, 10), 2);
        assert_eq!(heat(10, 10), 4);
        assert!(heat(5, 10) < heat(10, 10));
    }
}
