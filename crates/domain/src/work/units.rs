//! The units work goes to: the protection office, the committee's member units, township
//! governments and their stations, and social-work agencies. Referrals, case tasks,
//! supervision and (later) the committee's tasks and assessments point at one registry.

use crate::coded::coded_enum;
use crate::Invalid;

coded_enum!(
    /// 单位类别
    UnitKind {
        /// 未保办 (the protection committee's office, at 民政)
        Office = ("office", "未保办"),
        CivilAffairs = ("civil_affairs", "民政"),
        Police = ("police", "公安"),
        Education = ("education", "教育"),
        Health = ("health", "卫健"),
        Court = ("court", "法院"),
        Procuratorate = ("procuratorate", "检察院"),
        Justice = ("justice", "司法"),
        WomensFederation = ("womens_federation", "妇联"),
        YouthLeague = ("youth_league", "团委"),
        DisabledFederation = ("disabled_federation", "残联"),
        HumanResources = ("human_resources", "人社"),
        MedicalInsurance = ("medical_insurance", "医保"),
        Cyberspace = ("cyberspace", "网信"),
        Culture = ("culture", "文旅"),
        MarketRegulation = ("market_regulation", "市场监管"),
        CareForNextGeneration = ("care_for_next_generation", "关工委"),
        TradeUnion = ("trade_union", "工会"),
        /// A township (乡镇人民政府 / 街道办事处) and its protection station
        Township = ("township", "乡镇（街道）"),
        /// 社会工作服务机构 and other non-government agencies
        Agency = ("agency", "社工机构"),
        Other = ("other", "其他"),
    }
);

impl UnitKind {
    /// Parses the code or the Chinese name, refusing with the choices.
    pub fn parse_or_refuse(input: &str) -> Result<UnitKind, Invalid> {
        UnitKind::parse(input).ok_or_else(|| {
            Invalid::new(
                "unit_kind",
                format!(
                    "单位类别“{}”无法识别，可选：{}",
                    input.trim(),
                    UnitKind::ALL
                        .iter()
                        .map(|k| k.label())
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            )
        })
    }

    /// A non-government agency: a referral to it needs the guardian's or the child's
    /// consent, or a recorded reason to go without (个人信息保护法 Art. 13, 31).
    pub fn needs_consent(self) -> bool {
        matches!(self, UnitKind::Agency | UnitKind::Other)
    }

    /// One unit of this kind per county (a member unit or the office), named after the
    /// county; agencies and townships are named one by one.
    pub fn one_per_county(self) -> bool {
        !matches!(
            self,
            UnitKind::Township | UnitKind::Agency | UnitKind::Other
        )
    }

    /// The name a county's unit of this kind gets when it is first needed:
    /// 朝天区公安局, 朝天区未保办.
    pub fn default_name(self, county: &str) -> String {
        let suffix = match self {
            UnitKind::Office => "未成年人保护工作委员会办公室",
            UnitKind::CivilAffairs => "民政局",
            UnitKind::Police => "公安局",
            UnitKind::Education => "教育局",
            UnitKind::Health => "卫生健康局",
            UnitKind::Court => "人民法院",
            UnitKind::Procuratorate => "人民检察院",
            UnitKind::Justice => "司法局",
            UnitKind::WomensFederation => "妇联",
            UnitKind::YouthLeague => "团委",
            UnitKind::DisabledFederation => "残联",
            UnitKind::HumanResources => "人力资源和社会保障局",
            UnitKind::MedicalInsurance => "医疗保障局",
            UnitKind::Cyberspace => "网信办",
            UnitKind::Culture => "文化和旅游局",
            UnitKind::MarketRegulation => "市场监督管理局",
            UnitKind::CareForNextGeneration => "关工委",
            UnitKind::TradeUnion => "总工会",
            UnitKind::Township | UnitKind::Agency | UnitKind::Other => "",
        };
        format!("{county}{suffix}")
    }

    /// The member-unit name a liaison account carries (access::MEMBER_UNITS), if this kind
    /// has one.
    pub fn from_member_unit(name: &str) -> Option<UnitKind> {
        UnitKind::ALL
            .iter()
            .copied()
            .filter(|k| k.one_per_county() && *k != UnitKind::Office)
            .find(|k| k.label() == name.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_unit_of_the_liaison_list_is_a_unit_kind() {
        for name in crate::access::MEMBER_UNITS {
            assert!(UnitKind::from_member_unit(name).is_some(), "{name}");
        }
        assert_eq!(UnitKind::parse("police"), Some(UnitKind::Police));
        assert_eq!(UnitKind::parse(" 公安 "), Some(UnitKind::Police));
        assert!(UnitKind::parse_or_refuse("消防")
            .unwrap_err()
            .message
            .contains("可选"));
        assert!(UnitKind::Agency.needs_consent() && !UnitKind::Police.needs_consent());
        assert_eq!(UnitKind::Police.default_name("朝天区"), "朝天区公安局");
    }
}
