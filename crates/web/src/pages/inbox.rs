//! The inbox: what needs the user's action (work items of their units and their own, most
//! urgent and soonest due first) and their notifications; and the same, shortened, on the
//! home page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_store::{ReportFilter, Supervision, WorkItem};

use super::deadline_text::{due_text, DueText};
use super::forms::NoticeQuery;
use super::{beijing_time, error_page, render, store_error_page, Layout, Panel, PanelRow};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

/// A work item as a line of a list.
pub struct WorkLine {
    pub id: String,
    /// What kind of work ("转介待接收").
    pub kind: &'static str,
    pub title: String,
    pub due: Option<DueText>,
    pub overdue: bool,
    /// 督办 or 挂牌督办, with its own deadline.
    pub supervision: Option<&'static str>,
    pub supervision_due: Option<DueText>,
    pub supervision_note: String,
    /// Late under supervision: sent up to the office head.
    pub escalated: bool,
    pub urgent: bool,
    pub href: String,
}

/// Where the record a work item is about is read.
pub fn subject_href(kind: &str, id: &str) -> String {
    match kind {
        "report" => format!("/reports/{id}"),
        "referral" => format!("/referrals/{id}"),
        "case" => format!("/cases/{id}"),
        "plan_task" => format!("/committee/tasks/{id}"),
        "proposal" => format!("/proposals/{id}"),
        "notice" => format!("/committee/notices/{id}"),
        "meetings" => "/committee#meetings".into(),
        "warning" => format!("/warnings#w-{id}"),
        // "<list>.<division>": that list's findings in that village.
        "list_check" => match id.split_once('.') {
            Some((list, division)) => format!("/findings?list_id={list}&division={division}"),
            None => "/findings".into(),
        },
        _ => "/inbox".into(),
    }
}

impl WorkLine {
    pub fn new(w: &WorkItem, now: i64) -> WorkLine {
        WorkLine {
            id: w.id.clone(),
            kind: w.work_kind().map(|k| k.label()).unwrap_or("待办事项"),
            title: w.title.clone(),
            due: w.due_at.map(|d| due_text(d, now, w.due_guessed)),
            overdue: w.overdue(now),
            supervision: Supervision::from_level(w.supervision).map(|s| s.label()),
            supervision_due: w.supervision_due_at.map(|d| due_text(d, now, false)),
            supervision_note: w.supervision_note.clone(),
            escalated: w.escalated_at.is_some(),
            urgent: w.urgency >= 2,
            href: subject_href(&w.subject_kind, &w.subject_id),
        }
    }
}

pub struct NoticeLine {
    pub key: String,
    pub text: String,
    pub link: String,
    pub at: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    work: Vec<WorkLine>,
    notices: Vec<NoticeLine>,
    unread: usize,
    csrf: String,
    notice: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let scope = caller.scope();
    let items = match state.store.inbox(scope, 200).await {
        Ok(i) => i,
        Err(e) => return store_error_page(e),
    };
    let notes = match state.store.notifications(scope, 100).await {
        Ok(n) => n,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    let notices: Vec<NoticeLine> = notes
        .into_iter()
        .map(|n| NoticeLine {
            key: format!("{}:{}", n.county_code, n.id),
            text: n.text,
            // Links are written by the store ("/referrals/…"); anything else goes home.
            link: if n.link.starts_with('/') && !n.link.starts_with("//") {
                n.link
            } else {
                "/".into()
            },
            at: beijing_time(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    render(&InboxPage {
        layout: Layout::for_caller(&caller, "/"),
        work: items.iter().map(|w| WorkLine::new(w, now)).collect(),
        unread: notices.iter().filter(|n| n.unread).count(),
        notices,
        csrf: caller.user.csrf_token.clone(),
        notice: q.notice,
    })
}

#[derive(Deserialize)]
pub struct Nothing {}

/// Marks the notifications listed in the form (`n` = county:id, repeated) read.
pub async fn mark_read(State(state): State<AppState>, form: CsrfForm<Nothing>) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::ViewReports) {
        return error_page(StatusCode::FORBIDDEN, "您的角色没有待办消息。");
    }
    let ids: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k == "n")
        .filter_map(|(_, v)| v.split_once(':'))
        .map(|(c, i)| (c.to_string(), i.to_string()))
        .take(200)
        .collect();
    match state.store.mark_read(caller.scope(), &ids).await {
        Ok(()) => Redirect::to("/inbox?notice=read").into_response(),
        Err(e) => store_error_page(e),
    }
}

/// The home page's first panel: the user's inbox (a reporting institution: its reports).
pub async fn home_panels(state: &AppState, caller: &Caller) -> Vec<Panel> {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewReports) {
        return vec![];
    }
    let now = state.store.clock().now_ms();
    if scope.role == Role::Reporter {
        let filter = ReportFilter {
            page: 1,
            per_page: 10,
            ..ReportFilter::default()
        };
        let reports = state
            .store
            .list_reports(scope, &filter)
            .await
            .unwrap_or_default();
        return vec![Panel {
            title: "本单位提交的强制报告",
            empty: "暂无提交记录。",
            rows: reports
                .iter()
                .map(|r| {
                    PanelRow::new(
                        format!("{} · {}", r.number, r.channel.label()),
                        r.state.label().to_string(),
                        Some(format!("/reports/{}", r.id)),
                    )
                })
                .collect(),
            more: Some(("/reports/new".into(), "提交新的强制报告".into())),
        }];
    }
    let items = state.store.inbox(scope, 10).await.unwrap_or_default();
    let unread = state
        .store
        .notifications(scope, 100)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|n| n.read_at.is_none())
        .count();
    let rows = items
        .iter()
        .map(|w| {
            let line = WorkLine::new(w, now);
            let mut label = format!("{}：{}", line.kind, line.title);
            if let Some(s) = line.supervision {
                label = format!("【{s}】{label}");
            }
            PanelRow {
                label,
                value: line.due.map(|d| d.left).unwrap_or_default(),
                href: Some(line.href),
                overdue: line.overdue,
            }
        })
        .collect();
    vec![Panel {
        title: match scope.role {
            Role::Office => "待办报告与个案",
            Role::Unit => "转介给本单位的事项",
            _ => "我的待办",
        },
        empty: match scope.role {
            Role::Unit => "暂无转介给本单位的事项。",
            _ => "暂无待办的报告、转介或个案任务。",
        },
        rows,
        more: Some((
            "/inbox".into(),
            if unread > 0 {
                format!("全部待办与消息（{unread} 条未读）")
            } else {
                "全部待办与消息".into()
            },
        )),
    }]
}
