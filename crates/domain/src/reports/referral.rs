//! Referrals (转介): a report or case sent to the unit that must act. The unit accepts,
//! returns it with a reason, or passes it on; the sender may revoke it; an accepted
//! referral ends with the unit's reply. Who may take each step, and from which state.

use serde::{Deserialize, Serialize};

use crate::coded::coded_enum;
use crate::Invalid;

coded_enum!(
    /// 转介状态
    ReferralState {
        Pending = ("pending", "待接收"),
        Accepted = ("accepted", "已接收"),
        Returned = ("returned", "已退回"),
        /// Passed on to another unit (a new referral carries it on).
        Forwarded = ("forwarded", "已转交"),
        Revoked = ("revoked", "已撤回"),
        /// Handled: the unit's reply is recorded.
        Done = ("done", "已办结"),
    }
);

impl ReferralState {
    /// The unit still has it: its access to the child lasts while the referral is open.
    pub fn is_open(self) -> bool {
        matches!(self, ReferralState::Pending | ReferralState::Accepted)
    }
}

coded_enum!(
    /// A step on a referral.
    ReferralStep {
        Accept = ("accept", "接收"),
        Return = ("return", "退回"),
        Forward = ("forward", "转交"),
        Revoke = ("revoke", "撤回"),
        Complete = ("complete", "办结答复"),
    }
);

/// Who takes the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The unit the referral went to.
    Receiver,
    /// The unit (or office) that sent it.
    Sender,
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRefused {
    /// Not this party's step (403).
    NotYours(String),
    /// Not from this state (409).
    State(String),
    /// The reason or reply is missing (422).
    Reason(Invalid),
}

/// The state after `step` by `party` from `state`; `text` is the reason (return, forward,
/// revoke) or the reply (complete).
pub fn step(
    state: ReferralState,
    step: ReferralStep,
    party: Party,
    text: &str,
) -> Result<ReferralState, StepRefused> {
    use ReferralState as S;
    use ReferralStep as T;
    let receiver_only = matches!(step, T::Accept | T::Return | T::Forward | T::Complete);
    if receiver_only && party != Party::Receiver {
        return Err(StepRefused::NotYours(format!(
            "只有接收转介的单位可以{}",
            step.label()
        )));
    }
    if step == T::Revoke && party != Party::Sender {
        return Err(StepRefused::NotYours("只有发起转介的一方可以撤回".into()));
    }
    let next = match (state, step) {
        (S::Pending, T::Accept) => S::Accepted,
        (S::Pending, T::Return) => S::Returned,
        (S::Pending | S::Accepted, T::Forward) => S::Forwarded,
        (S::Pending | S::Accepted, T::Revoke) => S::Revoked,
        (S::Accepted, T::Complete) => S::Done,
        _ => {
            return Err(StepRefused::State(format!(
                "该转介{}，不能{}",
                state.label(),
                step.label()
            )))
        }
    };
    if step != T::Accept && text.trim().is_empty() {
        let what = match step {
            T::Complete => "请填写处理意见和答复内容",
            T::Return => "请写明退回原因（如：不属于本单位职责，应由哪个单位办理）",
            T::Forward => "请写明转交原因",
            _ => "请写明撤回原因",
        };
        return Err(StepRefused::Reason(Invalid::new("reason_required", what)));
    }
    Ok(next)
}

coded_enum!(
    /// Who agreed that a non-government agency may have the child's information.
    ConsentBy {
        Guardian = ("guardian", "监护人同意"),
        Child = ("child", "儿童本人同意"),
        /// Gone without, for a reason (an emergency, the guardian is the one harming).
        Override = ("override", "未经同意（说明理由）"),
    }
);

/// The consent recorded on a referral to an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub by: ConsentBy,
    /// Who consented and how, or why it was gone without.
    pub note: String,
}

impl Consent {
    /// Checks the consent a referral to an agency needs: someone agreed, or a reason why
    /// not (at least a few words).
    pub fn check(by: Option<&str>, note: &str) -> Result<Consent, Invalid> {
        let by = by
            .and_then(ConsentBy::parse)
            .ok_or_else(|| {
                Invalid::new(
                    "consent_required",
                    "转介给社会组织须记录监护人或儿童本人的同意，或说明未经同意的理由：consent 可选 guardian、child、override",
                )
            })?;
        let note = note.trim().to_string();
        if by == ConsentBy::Override && note.chars().count() < 4 {
            return Err(Invalid::new(
                "consent_reason",
                "未经同意转介给社会组织，请写明理由（如：监护人即侵害人，情况紧急）",
            ));
        }
        Ok(Consent { by, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralState as S;
    use ReferralStep as T;

    #[test]
    fn the_receiver_accepts_returns_forwards_and_completes_the_sender_revokes() {
        assert_eq!(
            step(S::Pending, T::Accept, Party::Receiver, ""),
            Ok(S::Accepted)
        );
        assert_eq!(
            step(S::Pending, T::Return, Party::Receiver, "不属于本单位职责"),
            Ok(S::Returned)
        );
        assert_eq!(
            step(S::Accepted, T::Forward, Party::Receiver, "应由教育局办理"),
            Ok(S::Forwarded)
        );
        assert_eq!(
            step(S::Accepted, T::Revoke, Party::Sender, "重复转介"),
            Ok(S::Revoked)
        );
        assert_eq!(
            step(S::Accepted, T::Complete, Party::Receiver, "已处理"),
            Ok(S::Done)
        );
    }

    #[test]
    fn the_wrong_party_state_or_a_missing_reason_is_refused() {
        assert!(matches!(
            step(S::Pending, T::Accept, Party::Sender, ""),
            Err(StepRefused::NotYours(_))
        ));
        assert!(matches!(
            step(S::Pending, T::Revoke, Party::Receiver, "x"),
            Err(StepRefused::NotYours(_))
        ));
        assert!(matches!(
            step(S::Accepted, T::Accept, Party::Receiver, ""),
            Err(StepRefused::State(_))
        ));
        assert!(matches!(
            step(S::Pending, T::Complete, Party::Receiver, "答复"),
            Err(StepRefused::State(_))
        ));
        for closed in [S::Returned, S::Forwarded, S::Revoked, S::Done] {
            for t in T::ALL {
                for p in [Party::Receiver, Party::Sender] {
                    assert!(step(closed, *t, p, "理由").is_err(), "{closed:?} {t:?}");
                }
            }
        }
        assert!(matches!(
            step(S::Pending, T::Return, Party::Receiver, "  "),
            Err(StepRefused::Reason(_))
        ));
    }

    #[test]
    fn an_agency_needs_consent_or_a_reason_to_go_without() {
        assert!(Consent::check(None, "").is_err());
        assert_eq!(
            Consent::check(Some("guardian"), "祖母口头同意").unwrap().by,
            ConsentBy::Guardian
        );
        let e = Consent::check(Some("override"), "急").unwrap_err();
        assert!(e.message.contains("理由"));
        assert!(Consent::check(Some("override"), "监护人即侵害人").is_ok());
    }
}
