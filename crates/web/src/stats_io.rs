//! The period statistics as an Excel table in the lines of the 民政 statistical report
//! (台账儿童 by group, 孤儿 集中供养/社会散居, 事实无人抚养, recipients and amounts in 万元,
//! the network, visits, reports and cases), each flow beside the period before and the
//! same period a year before.

use weibao_domain::access::Scope;
use weibao_domain::child::Category;
use weibao_domain::stats::ledger::{AgeBand, Figure, SexKey};
use weibao_domain::stats::period::{change_text, Period};
use weibao_domain::{DivisionCode, Fen, Month};
use weibao_sheets::OutCell;
use weibao_store::{Overview, Store, StoreError, TypeTotal};

pub const HEADERS: [&str; 7] = ["指标", "单位", "本期", "上期", "比上期", "去年同期", "同比"];

/// A line's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Count(i64),
    Money(Fen),
}

impl Amount {
    fn cell(self) -> OutCell {
        match self {
            Amount::Count(n) => OutCell::Number(n as f64),
            // 万元 with two decimals, as the report writes it.
            Amount::Money(f) => OutCell::Number(f.wan().parse().unwrap_or(0.0)),
        }
    }

    fn raw(self) -> i64 {
        match self {
            Amount::Count(n) => n,
            Amount::Money(f) => f.0,
        }
    }
}

/// One line of the table: a stock has no earlier values (the ledger keeps no past
/// counts), a flow has all three.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub unit: &'static str,
    pub now: Amount,
    pub before: Option<(Amount, Amount)>,
}

fn stock(label: impl Into<String>, unit: &'static str, n: i64) -> Line {
    Line {
        label: label.into(),
        unit,
        now: Amount::Count(n),
        before: None,
    }
}

fn heading(label: &str) -> Line {
    Line {
        label: label.into(),
        unit: "",
        now: Amount::Count(0),
        before: None,
    }
}

/// The three periods' figures a table is made of.
pub struct Periods {
    pub now: Overview,
    pub previous: Overview,
    pub year_before: Overview,
    /// Allowances paid per type over each period's months (None: not the reader's).
    pub paid: Option<[Vec<TypeTotal>; 3]>,
}

/// The lines, in the order the report lists them.
pub fn lines(p: &Periods, designated: bool) -> Vec<Line> {
    let o = &p.now;
    let n = |f: Figure| o.ledger.get(f);
    let mut out = vec![heading("一、台账儿童（当前在册）")];
    out.push(stock("台账儿童总数", "人", n(Figure::Children)));
    for c in Category::ALL {
        if *c == Category::AffectedByHiv && !designated {
            continue;
        }
        let label = match c {
            Category::KeyDistressed => "  其中：重点困境儿童".to_string(),
            c => c.label().to_string(),
        };
        out.push(stock(label, "人", n(Figure::Category(*c))));
    }
    for s in [SexKey::Male, SexKey::Female] {
        out.push(stock(format!("{}童", s.label()), "人", n(Figure::Sex(s))));
    }
    for b in AgeBand::ALL {
        out.push(stock(b.label(), "人", n(Figure::Age(b))));
    }
    if let Some([now, prev, last_year]) = &p.paid {
        out.push(heading("二、基本生活保障（已锁定名册）"));
        let find = |list: &[TypeTotal], code: &str| {
            list.iter()
                .find(|t| t.type_code == code)
                .map(|t| (t.people, t.amount))
                .unwrap_or((0, Fen(0)))
        };
        for t in now {
            let (pp, pa) = find(prev, &t.type_code);
            let (yp, ya) = find(last_year, &t.type_code);
            out.push(Line {
                label: format!("{} 期末人数", t.label),
                unit: "人",
                now: Amount::Count(t.people),
                before: Some((Amount::Count(pp), Amount::Count(yp))),
            });
            out.push(Line {
                label: format!("{} 发放金额", t.label),
                unit: "万元",
                now: Amount::Money(t.amount),
                before: Some((Amount::Money(pa), Amount::Money(ya))),
            });
        }
        let sum = |list: &[TypeTotal]| Fen(list.iter().map(|t| t.amount.0).sum());
        out.push(Line {
            label: "合计发放金额".into(),
            unit: "万元",
            now: Amount::Money(sum(now)),
            before: Some((Amount::Money(sum(prev)), Amount::Money(sum(last_year)))),
        });
    }
    if let Some(c) = &o.network {
        let t = &c.total;
        out.push(heading("三、工作网络（当前）"));
        out.push(stock("未成年人保护工作站", "个", t.stations));
        out.push(stock("儿童之家、工作点", "个", t.work_points));
        out.push(stock("儿童督导员", "人", t.supervisors));
        out.push(stock("儿童主任", "人", t.directors));
        out.push(stock(
            "有工作站的乡镇（街道）",
            "个",
            t.townships_with_station,
        ));
        out.push(stock(
            "有工作点的村（居）",
            "个",
            t.villages_with_work_point,
        ));
    }
    if let (Some(v), Some(pv), Some(yv)) = (&o.visits, &p.previous.visits, &p.year_before.visits) {
        out.push(heading("四、探访"));
        out.push(Line {
            label: "走访儿童".into(),
            unit: "人次",
            now: Amount::Count(v.done),
            before: Some((Amount::Count(pv.done), Amount::Count(yv.done))),
        });
        out.push(stock("当前探访逾期", "人", v.overdue));
    }
    if let (Some(r), Some(pr), Some(yr)) = (&o.reports, &p.previous.reports, &p.year_before.reports)
    {
        out.push(heading("五、强制报告和热线"));
        for (label, f) in [
            (
                "受理报告",
                (|r: &weibao_store::ReportFigures| r.received) as fn(&_) -> i64,
            ),
            ("  其中：热线工单", |r| r.hotline),
            ("已办结", |r| r.closed),
        ] {
            out.push(Line {
                label: label.into(),
                unit: "件",
                now: Amount::Count(f(r)),
                before: Some((Amount::Count(f(pr)), Amount::Count(f(yr)))),
            });
        }
        out.push(stock("热线工单超期未复（当前）", "件", r.overdue));
    }
    if let Some(cases) = &o.cases {
        out.push(heading("六、个案（当前）"));
        for (s, n) in cases {
            out.push(stock(s.label(), "件", *n));
        }
    }
    out
}

/// The table's rows.
pub fn rows(lines: &[Line]) -> Vec<Vec<OutCell>> {
    lines
        .iter()
        .map(|l| {
            if l.unit.is_empty() {
                return vec![OutCell::Text(l.label.clone())];
            }
            let mut row = vec![
                OutCell::Text(l.label.clone()),
                OutCell::Text(l.unit.into()),
                l.now.cell(),
            ];
            match l.before {
                Some((prev, last_year)) => {
                    let change = |base: Amount| {
                        OutCell::Text(
                            change_text(l.now.raw(), base.raw()).unwrap_or_else(|| "—".into()),
                        )
                    };
                    row.extend([
                        prev.cell(),
                        change(prev),
                        last_year.cell(),
                        change(last_year),
                    ]);
                }
                None => row.extend((0..4).map(|_| OutCell::Text("—".into()))),
            }
            row
        })
        .collect()
}

/// The figures of a division for a period, the period before and the same period a year
/// before.
pub async fn periods(
    store: &Store,
    scope: &Scope,
    division: DivisionCode,
    period: Period,
) -> Result<Periods, StoreError> {
    let (prev, last_year) = (period.previous(), period.year_before());
    let now = store.overview(scope, division, period).await?;
    let previous = store.overview(scope, division, prev).await?;
    let year_before = store.overview(scope, division, last_year).await?;
    let months = |p: Period| (Month::of(p.from), Month::of(p.to));
    let paid = if now.allowances.is_some() {
        let mut got = Vec::new();
        for p in [period, prev, last_year] {
            let (from, to) = months(p);
            got.push(store.allowance_paid(scope, division, from, to).await?);
        }
        got.try_into().ok()
    } else {
        None
    };
    Ok(Periods {
        now,
        previous,
        year_before,
        paid,
    })
}

/// The .xlsx of a division's period statistics.
pub async fn report_xlsx(
    store: &Store,
    scope: &Scope,
    division: DivisionCode,
    period: Period,
) -> Result<(String, Vec<u8>), crate::error::ApiError> {
    let p = periods(store, scope, division, period).await?;
    let title = format!("{}未成年人保护工作统计表", p.now.name);
    let notes = vec![
        format!(
            "统计期：{}（上期 {}，去年同期 {}）",
            period.label(),
            period.previous().label(),
            period.year_before().label()
        ),
        format!(
            "填报单位：{}　制表日期：{}",
            p.now.name,
            store.clock().today()
        ),
        "说明：台账人数、工作网络和个案为制表时在册数，不作期间比较；发放金额只计已锁定名册，单位万元。"
            .to_string(),
    ];
    let bytes =
        weibao_sheets::write_report(&title, &notes, &HEADERS, rows(&lines(&p, scope.designated)))
            .map_err(|m| {
            crate::error::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "export_failed",
                m,
            )
        })?;
    Ok((format!("{title}（{}）.xlsx", period.label()), bytes))
}

/// A work report's paragraphs as the formal layout sets them: the title, the body with
/// its headings, the signing unit and the date flush right.
pub fn work_report_paragraphs(
    r: &weibao_domain::stats::work_report::WorkReport,
) -> Vec<weibao_sheets::docx::Paragraph> {
    use weibao_domain::proposals::reply_document::LineRole;
    use weibao_sheets::docx::{Paragraph, Setting};
    let mut out = vec![Paragraph::new(Setting::Title, r.title.trim())];
    for (role, line) in r.lines() {
        let setting = match role {
            LineRole::Heading => Setting::Heading,
            LineRole::SubHeading => Setting::SubHeading,
            LineRole::Paragraph => Setting::Text,
        };
        out.push(Paragraph::new(setting, line));
    }
    out.push(Paragraph::new(Setting::Blank, ""));
    out.push(Paragraph::new(Setting::Signature, r.signer.trim()));
    out.push(Paragraph::new(Setting::Signature, r.date.trim()));
    out
}
