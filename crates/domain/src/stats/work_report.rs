//! The work report (工作情况报告) of a division for a period, drafted from the platform's
//! figures in the style of the seeds ("全区现有农村留守儿童N名、困境儿童N名……儿童主任共走访
//! 儿童N人次……累计发放孤儿基本生活费N万元……"): the work done, the problems the figures show
//! (visits overdue, posts vacant), and the next steps. A draft is only a start: the office
//! edits it and keeps it; the print page and the Word file show what was kept.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::period::{change_text, Period};
use crate::error::bounded;
use crate::money::Fen;
use crate::proposals::reply_document::{line_role, LineRole};
use crate::Invalid;

/// The network's figures the report quotes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkLine {
    pub stations: i64,
    pub work_points: i64,
    pub supervisors: i64,
    pub directors: i64,
    pub townships: i64,
    pub townships_with_station: i64,
    pub villages: i64,
    pub villages_with_work_point: i64,
    pub director_vacancies: i64,
}

/// What the report is written from; None: the reader does not see that module.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFigures {
    /// 朝天区, 朝天镇 …
    pub place: String,
    pub period: Option<Period>,
    pub children: i64,
    pub left_behind: i64,
    pub distressed: i64,
    pub orphans: i64,
    pub unsupported: i64,
    /// 0-5, 6-13, 14-17
    pub ages: [i64; 3],
    pub network: Option<NetworkLine>,
    /// Visits made in the period and in the period before; children overdue now.
    pub visits: Option<(i64, i64, i64)>,
    /// Paid per group (孤儿基本生活费 …) over the period's months, with the children paid
    /// in its last month.
    pub allowances: Option<Vec<(String, Fen, i64)>>,
    /// Received, of which hotline orders, closed.
    pub reports: Option<(i64, i64, i64)>,
    /// Cases in all, of which still open.
    pub cases: Option<(i64, i64)>,
    /// 督办 items due in the period, closed on time.
    pub supervision: Option<(i64, i64)>,
}

/// A work report, as drafted or as kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkReport {
    pub title: String,
    /// One paragraph a line; "一、…" a heading, "（一）…" a sub-heading (as a reply letter).
    pub body: String,
    pub signer: String,
    /// 2026年12月8日
    pub date: String,
}

impl WorkReport {
    /// Checks what was typed: every part present and within its length.
    pub fn checked(&self) -> Result<WorkReport, (&'static str, Invalid)> {
        Ok(WorkReport {
            title: bounded("title", &self.title, 200, true, "标题")?,
            body: bounded("body", &self.body, 30_000, true, "正文")?,
            signer: bounded("signer", &self.signer, 60, true, "落款单位")?,
            date: bounded("date", &self.date, 30, true, "落款日期")?,
        })
    }

    /// The body's lines with their roles (as a reply letter sets them), blank lines dropped.
    pub fn lines(&self) -> Vec<(LineRole, &str)> {
        self.body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| (line_role(l), l))
            .collect()
    }
}

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// "全区", "全县", "全镇", "全街道", "全村": how a report names the whole of its place.
fn whole(place: &str) -> String {
    let word = if place.ends_with("街道") || place.ends_with("街道办事处") {
        "街道".to_string()
    } else if place.ends_with("村民委员会") {
        "村".to_string()
    } else if place.ends_with("居民委员会") {
        "社区".to_string()
    } else {
        place.chars().last().map(String::from).unwrap_or_default()
    };
    format!("全{word}")
}

fn percent(part: i64, of: i64) -> String {
    if of <= 0 {
        return "0%".into();
    }
    let tenths = (part * 1000 + of / 2) / of;
    if tenths % 10 == 0 {
        format!("{}%", tenths / 10)
    } else {
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

fn date_words(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Drafts the report.
pub fn draft(f: &ReportFigures, period: Period, signer: &str, today: NaiveDate) -> WorkReport {
    let all = whole(&f.place);
    let when = period.label();
    let mut body = vec![format!(
        "{when}，{}认真贯彻落实《中华人民共和国未成年人保护法》和上级关于加强困境儿童保障、农村留守儿童关爱保护的部署，健全工作网络，落实动态台账和定期走访，强化强制报告和兜底保障。现将工作开展情况报告如下：",
        f.place
    )];
    let mut done: Vec<String> = Vec::new();
    done.push(format!(
        "摸清底数，建立动态台账。{all}现有农村留守儿童{}名、困境儿童{}名、孤儿{}名、事实无人抚养儿童{}名，共{}名儿童纳入动态台账（0-5岁{}名、6-13岁{}名、14-17岁{}名），做到底数清、情况明。",
        f.left_behind, f.distressed, f.orphans, f.unsupported, f.children, f.ages[0], f.ages[1], f.ages[2]
    ));
    if let Some(n) = f
        .network
        .filter(|n| n.stations + n.work_points + n.supervisors + n.directors > 0)
    {
        let mut s = format!(
            "健全工作网络，夯实工作基础。{all}建成未成年人保护工作站{}个、儿童之家（工作点）{}个，配备儿童督导员{}名、儿童主任{}名",
            n.stations, n.work_points, n.supervisors, n.directors
        );
        if n.townships > 0 && n.villages > 0 {
            s.push_str(&format!(
                "，乡镇（街道）工作站覆盖率{}，村（居）工作点覆盖率{}",
                percent(n.townships_with_station, n.townships),
                percent(n.villages_with_work_point, n.villages)
            ));
        }
        s.push('。');
        done.push(s);
    }
    if let Some((made, before, overdue)) = f.visits {
        let mut s = format!("入户走访，做到精准关爱。统计期内儿童主任共走访儿童{made}人次");
        if let Some(c) = change_text(made, before) {
            s.push_str(&format!("，比上期{c}"));
        }
        if overdue > 0 {
            s.push_str(&format!(
                "；目前仍有{overdue}名儿童逾期未访，已督促限期走访"
            ));
        } else {
            s.push_str("，没有逾期未访的儿童");
        }
        s.push('。');
        done.push(s);
    }
    if let Some(paid) = f
        .allowances
        .as_ref()
        .filter(|p| p.iter().any(|(_, a, _)| a.0 > 0))
    {
        let items: Vec<String> = paid
            .iter()
            .filter(|(_, a, _)| a.0 > 0)
            .map(|(group, a, _)| format!("{group}{}万元", a.wan()))
            .collect();
        let people: i64 = paid.iter().map(|(_, _, p)| p).sum();
        done.push(format!(
            "落实兜底保障，按时足额发放。统计期内累计发放{}，期末保障{people}人次。",
            items.join("、")
        ));
    }
    if let Some((received, hotline, closed)) = f.reports {
        let mut s = format!(
            "落实强制报告，及时处置侵害。统计期内受理强制报告和求助{received}件（其中12345热线工单{hotline}件），已办结{closed}件"
        );
        if let Some((cases, open)) = f.cases {
            s.push_str(&format!("；累计办理个案{cases}件，在办{open}件"));
        }
        if let Some((due, on_time)) = f.supervision.filter(|(d, _)| *d > 0) {
            s.push_str(&format!("；督办事项到期{due}件，按期办结{on_time}件"));
        }
        s.push('。');
        done.push(s);
    }
    body.push("一、工作开展情况".into());
    body.extend(
        done.into_iter()
            .enumerate()
            .map(|(i, s)| format!("（{}）{s}", NUMERALS[i])),
    );
    // The problems the figures show; the office adds what they cannot.
    let mut problems: Vec<String> = Vec::new();
    if let Some((_, _, overdue)) = f.visits.filter(|v| v.2 > 0) {
        problems.push(format!(
            "定期走访仍有短板。{overdue}名儿童超过规定时限未走访，个别村（居）走访不及时。"
        ));
    }
    if let Some(n) = f.network.filter(|n| n.director_vacancies > 0) {
        problems.push(format!(
            "基层力量有待加强。{}个村（居）儿童主任空缺，需尽快选配。",
            n.director_vacancies
        ));
    }
    if let Some(n) = f.network.filter(|n| n.townships > n.townships_with_station) {
        problems.push(format!(
            "阵地建设尚未全覆盖。{}个乡镇（街道）尚未建成未成年人保护工作站。",
            n.townships - n.townships_with_station
        ));
    }
    if problems.is_empty() {
        problems.push("（请结合实际填写存在的问题。）".into());
    }
    body.push("二、存在的问题".into());
    body.extend(
        problems
            .into_iter()
            .enumerate()
            .map(|(i, s)| format!("（{}）{s}", NUMERALS[i])),
    );
    body.push("三、下一步工作打算".into());
    body.push("（一）持续更新动态台账。督促儿童主任按规定频次入户走访，及时更新儿童和监护人信息，做到应纳尽纳、动态管理。".into());
    body.push("（二）压实强制报告责任。加强对强制报告责任单位的宣传培训，对热线工单和转介事项限时办理、跟踪督办。".into());
    body.push("（三）强化兜底保障。按时足额发放孤儿、事实无人抚养儿童基本生活费，落实困境儿童分类保障政策。".into());
    WorkReport {
        title: format!("{}{}未成年人保护工作情况报告", f.place, when),
        body: body.join("\n"),
        signer: signer.to_string(),
        date: date_words(today),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn figures() -> ReportFigures {
        ReportFigures {
            place: "朝天区".into(),
            children: 1234,
            left_behind: 800,
            distressed: 300,
            orphans: 20,
            unsupported: 35,
            ages: [200, 700, 334],
            network: Some(NetworkLine {
                stations: 12,
                work_points: 139,
                supervisors: 12,
                directors: 139,
                townships: 12,
                townships_with_station: 12,
                villages: 140,
                villages_with_work_point: 139,
                director_vacancies: 1,
            }),
            visits: Some((4567, 4000, 8)),
            allowances: Some(vec![
                ("孤儿基本生活费".into(), Fen(123_600_00), 20),
                ("事实无人抚养儿童基本生活补贴".into(), Fen(290_400_00), 35),
            ]),
            reports: Some((15, 9, 12)),
            cases: Some((6, 2)),
            supervision: Some((3, 3)),
            ..Default::default()
        }
    }

    #[test]
    fn the_draft_quotes_the_figures_as_the_seeds_write_them() {
        let p = Period {
            from: d("2026-01-01"),
            to: d("2026-11-30"),
        };
        let r = draft(
            &figures(),
            p,
            "朝天区未成年人保护工作委员会办公室",
            d("2026-12-08"),
        );
        assert_eq!(
            r.title,
            "朝天区2026年1月1日至2026年11月30日未成年人保护工作情况报告"
        );
        assert!(r.body.contains("全区现有农村留守儿童800名、困境儿童300名、孤儿20名、事实无人抚养儿童35名，共1234名儿童"), "{}", r.body);
        assert!(
            r.body
                .contains("儿童主任共走访儿童4567人次，比上期增长14.2%"),
            "{}",
            r.body
        );
        assert!(r
            .body
            .contains("累计发放孤儿基本生活费12.36万元、事实无人抚养儿童基本生活补贴29.04万元"));
        assert!(r.body.contains("村（居）工作点覆盖率99.3%"));
        // The problems come from the figures: visits overdue, a post vacant.
        assert!(r.body.contains("8名儿童超过规定时限未走访"));
        assert!(r.body.contains("1个村（居）儿童主任空缺"));
        assert_eq!(r.date, "2026年12月8日");
        assert_eq!(
            r.body
                .lines()
                .filter(|l| l.starts_with("一、") || l.starts_with("二、") || l.starts_with("三、"))
                .count(),
            3
        );
    }

    #[test]
    fn a_module_the_reader_cannot_see_is_left_out_not_written_as_zero() {
        let f = ReportFigures {
            place: "朝天镇".into(),
            children: 5,
            ..Default::default()
        };
        let p = Period {
            from: d("2026-06-01"),
            to: d("2026-06-30"),
        };
        let r = draft(&f, p, "朝天镇人民政府", d("2026-07-02"));
        assert!(r.body.contains("全镇现有"));
        assert!(!r.body.contains("走访儿童"));
        assert!(!r.body.contains("强制报告和求助"));
        assert!(r.body.contains("请结合实际填写存在的问题"));
        assert_eq!(whole("东坝街道"), "全街道");
        assert_eq!(whole("朝天村村民委员会"), "全村");
    }

    #[test]
    fn a_kept_report_needs_every_part() {
        let r = WorkReport {
            title: "  标题 ".into(),
            body: "正文".into(),
            signer: String::new(),
            date: "2026年12月8日".into(),
        };
        let (field, e) = r.checked().unwrap_err();
        assert_eq!((field, e.code), ("signer", "text_length"));
        let ok = WorkReport {
            signer: "朝天区民政局".into(),
            ..r
        }
        .checked()
        .unwrap();
        assert_eq!(ok.title, "标题");
    }
}
