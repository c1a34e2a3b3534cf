//! Cases (个案): 受理 → 调查评估 → 帮扶处置 → 回访 → 结案, or 不予受理 / 转出 with a reason.
//! Which transitions exist and what each needs: no help before an assessment, no closing
//! without an assessment and a reply, and closing only by the office head.

use crate::coded::coded_enum;
use crate::Invalid;

coded_enum!(
    /// 个案状态
    CaseState {
        Accepted = ("accepted", "受理"),
        Assessing = ("assessing", "调查评估"),
        Helping = ("helping", "帮扶处置"),
        FollowUp = ("follow_up", "回访"),
        Closed = ("closed", "结案"),
        Declined = ("declined", "不予受理"),
        TransferredOut = ("transferred_out", "转出"),
    }
);

impl CaseState {
    /// Nothing follows.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Declined | CaseState::TransferredOut
        )
    }
}

/// What a transition may depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseFacts {
    /// The investigation and assessment (调查评估) is recorded.
    pub assessed: bool,
    /// The handling reply to the reporter or the referring unit is recorded.
    pub replied: bool,
    /// The person asking is the office head (未保办主任).
    pub by_head: bool,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionRefused {
    /// The rules do not allow it (409).
    Forbidden(String),
    /// Allowed, but only for the office head (403).
    HeadOnly,
    /// A reason is needed (422).
    Reason(Invalid),
}

/// Whether the rules allow `from` → `to`, and what it needs.
pub fn transition(
    from: CaseState,
    to: CaseState,
    reason: &str,
    facts: CaseFacts,
) -> Result<(), TransitionRefused> {
    use CaseState::*;
    let edge = matches!(
        (from, to),
        (Accepted, Assessing)
            | (Accepted, Declined)
            | (Accepted, TransferredOut)
            | (Assessing, Helping)
            | (Assessing, TransferredOut)
            | (Assessing, Closed)
            | (Helping, FollowUp)
            | (Helping, TransferredOut)
            | (Helping, Closed)
            | (FollowUp, Helping)
            | (FollowUp, Closed)
    );
    if !edge {
        return Err(TransitionRefused::Forbidden(if from.is_final() {
            format!("个案已{}，不能再改为{}", from.label(), to.label())
        } else {
            format!("个案处于“{}”，不能直接改为“{}”", from.label(), to.label())
        }));
    }
    if to == Helping && !facts.assessed {
        return Err(TransitionRefused::Forbidden(
            "请先记录调查评估，再进入帮扶处置".into(),
        ));
    }
    if to == Closed {
        if !facts.assessed || !facts.replied {
            return Err(TransitionRefused::Forbidden(
                "结案前须记录调查评估和答复意见".into(),
            ));
        }
        if !facts.by_head {
            return Err(TransitionRefused::HeadOnly);
        }
    }
    if matches!(to, Declined | TransferredOut) && reason.trim().chars().count() < 2 {
        return Err(TransitionRefused::Reason(Invalid::new(
            "reason_required",
            format!("{}须写明理由", to.label()),
        )));
    }
    Ok(())
}

coded_enum!(
    /// A measure taken for the child, recorded as an event of the case.
    Measure {
        /// 应急处置：带离
        EmergencyRemoval = ("emergency_removal", "应急处置：带离"),
        /// 应急处置：送医
        EmergencyMedical = ("emergency_medical", "应急处置：送医"),
        /// 临时监护 (未保法 Art. 92-93), by where the child is placed
        TemporaryRelatives = ("temporary_relatives", "临时监护：亲属抚养"),
        TemporaryFoster = ("temporary_foster", "临时监护：家庭寄养"),
        TemporaryRescue = ("temporary_rescue", "临时监护：救助保护机构"),
        TemporaryWelfare = ("temporary_welfare", "临时监护：儿童福利机构"),
        /// Returned to the guardian after 民政's assessment
        ReturnedHome = ("returned_home", "评估后回归家庭"),
        /// 长期监护 (未保法 Art. 94)
        LongTermGuardianship = ("long_term_guardianship", "长期监护"),
        LegalAid = ("legal_aid", "法律援助"),
        Counselling = ("counselling", "心理疏导"),
        ParentingGuidance = ("parenting_guidance", "家庭教育指导"),
        /// 训诫 by the police (未保法 Art. 118)
        Admonition = ("admonition", "训诫"),
        ProtectionOrder = ("protection_order", "人身安全保护令"),
        /// 申请撤销监护资格 (未保法 Art. 108)
        RevokeGuardianship = ("revoke_guardianship", "申请撤销监护资格"),
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use CaseState::*;

    /// The allowed moves, written out apart from the code.
    const EDGES: &[(CaseState, CaseState)] = &[
        (Accepted, Assessing),
        (Accepted, Declined),
        (Accepted, TransferredOut),
        (Assessing, Helping),
        (Assessing, TransferredOut),
        (Assessing, Closed),
        (Helping, FollowUp),
        (Helping, TransferredOut),
        (Helping, Closed),
        (FollowUp, Helping),
        (FollowUp, Closed),
    ];

    fn all_facts() -> CaseFacts {
        CaseFacts {
            assessed: true,
            replied: true,
            by_head: true,
        }
    }

    #[test]
    fn the_pipeline_runs_from_acceptance_to_a_head_approved_closure() {
        let mut s = Accepted;
        let mut facts = CaseFacts::default();
        for (to, change) in [
            (Assessing, None),
            (Helping, Some("assessed")),
            (FollowUp, None),
            (Closed, Some("replied+head")),
        ] {
            match change {
                Some("assessed") => facts.assessed = true,
                Some(_) => {
                    facts.replied = true;
                    facts.by_head = true;
                }
                None => {}
            }
            transition(s, to, "", facts).unwrap();
            s = to;
        }
        assert_eq!(s, Closed);
    }

    #[test]
    fn closing_needs_an_assessment_a_reply_and_the_head() {
        let f = |assessed, replied, by_head| CaseFacts {
            assessed,
            replied,
            by_head,
        };
        assert!(matches!(
            transition(FollowUp, Closed, "", f(false, true, true)),
            Err(TransitionRefused::Forbidden(_))
        ));
        assert!(matches!(
            transition(FollowUp, Closed, "", f(true, false, true)),
            Err(TransitionRefused::Forbidden(_))
        ));
        assert_eq!(
            transition(FollowUp, Closed, "", f(true, true, false)),
            Err(TransitionRefused::HeadOnly)
        );
        assert!(matches!(
            transition(Assessing, Helping, "", f(false, false, false)),
            Err(TransitionRefused::Forbidden(_))
        ));
        assert!(matches!(
            transition(Accepted, Declined, " ", all_facts()),
            Err(TransitionRefused::Reason(_))
        ));
        assert!(transition(Accepted, Declined, "不属于侵害未成年人事项", all_facts()).is_ok());
    }

    fn state() -> impl Strategy<Value = CaseState> {
        prop::sample::select(CaseState::ALL.to_vec())
    }

    proptest! {
        /// Whatever sequence of requests arrives, a case only ever moves along the written
        /// edges, never closes without an assessment, a reply and the head, never helps
        /// before an assessment, and never leaves a final state.
        #[test]
        fn no_sequence_of_requests_reaches_a_forbidden_state(
            requests in prop::collection::vec(
                (state(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()), 0..40)
        ) {
            let mut s = Accepted;
            for (to, assessed, replied, by_head, reason) in requests {
                let facts = CaseFacts { assessed, replied, by_head };
                let r = if reason { "经核实的理由" } else { "" };
                let before = s;
                if transition(s, to, r, facts).is_ok() {
                    s = to;
                    prop_assert!(EDGES.contains(&(before, to)), "{before:?} -> {to:?}");
                    prop_assert!(!before.is_final());
                    if to == Closed {
                        prop_assert!(assessed && replied && by_head);
                    }
                    if to == Helping {
                        prop_assert!(assessed);
                    }
                    if matches!(to, Declined | TransferredOut) {
                        prop_assert!(reason);
                    }
                } else {
                    prop_assert_eq!(s, before);
                }
            }
        }

        /// Every written edge is allowed when its needs are met.
        #[test]
        fn every_written_edge_is_allowed_with_its_needs_met(i in 0..EDGES.len()) {
            let (from, to) = EDGES[i];
            prop_assert!(transition(from, to, "经核实的理由", all_facts()).is_ok());
        }
    }
}
