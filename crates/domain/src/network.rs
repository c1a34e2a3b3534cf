//! The protection network as records (民发〔2019〕34号; seeds 002 and 004): the county's
//! protection center, a station in each township, a work point (儿童之家) in each village,
//! service stations wherever they are; a child supervisor for each township, a child
//! director for each village, and the staff of centers and service stations.
//!
//! A post is vacant when no one holds it; a person who leaves keeps their record (the
//! day they left and why), so the history of a village's directors is never lost.

use chrono::NaiveDate;

use crate::coded::coded_enum;
use crate::{DivisionCode, Invalid, Level};

coded_enum!(
    /// 阵地类别
    PlaceKind {
        /// 未成年人保护中心 (one per county)
        Center = ("center", "未成年人保护中心"),
        /// 未成年人保护工作站 (one per township)
        Station = ("station", "未成年人保护工作站"),
        /// 未成年人保护工作点（儿童之家）(one per village)
        WorkPoint = ("work_point", "未成年人保护工作点"),
        /// 未成年人保护服务站 (a school, a hospital, a community centre: any number)
        ServiceStation = ("service_station", "未成年人保护服务站"),
    }
);

impl PlaceKind {
    /// Where a place of this kind stands: its division's level, or None for any level
    /// within a county (service stations).
    pub fn level(self) -> Option<Level> {
        match self {
            PlaceKind::Center => Some(Level::County),
            PlaceKind::Station => Some(Level::Township),
            PlaceKind::WorkPoint => Some(Level::Village),
            PlaceKind::ServiceStation => None,
        }
    }

    /// At most one open place of this kind per division.
    pub fn one_per_division(self) -> bool {
        self != PlaceKind::ServiceStation
    }

    /// Checks that a place of this kind may stand at `at`.
    pub fn check_division(self, at: DivisionCode) -> Result<(), Invalid> {
        let fits = match self.level() {
            Some(level) => at.level() == level,
            None => matches!(at.level(), Level::County | Level::Township | Level::Village),
        };
        if fits {
            return Ok(());
        }
        let want = match self {
            PlaceKind::Center => "县级区划（6 位代码）",
            PlaceKind::Station => "乡镇（街道）（9 位代码）",
            PlaceKind::WorkPoint => "村（社区）（12 位代码）",
            PlaceKind::ServiceStation => "本县的县、乡镇或村级区划",
        };
        Err(Invalid::new(
            "division_level",
            format!(
                "{}应设在{want}，{at} 是{}",
                self.label(),
                at.level().label()
            ),
        ))
    }
}

coded_enum!(
    /// 岗位
    Post {
        /// 儿童督导员 (a township)
        Supervisor = ("supervisor", "儿童督导员"),
        /// 儿童主任 (a village)
        Director = ("director", "儿童主任"),
        /// 工作人员 of a center or a service station
        Staff = ("staff", "工作人员"),
    }
);

impl Post {
    /// The level of the division a holder of this post serves; None: any (staff).
    pub fn level(self) -> Option<Level> {
        match self {
            Post::Supervisor => Some(Level::Township),
            Post::Director => Some(Level::Village),
            Post::Staff => None,
        }
    }
}

coded_enum!(
    /// 人员身份（民发〔2019〕34号：儿童主任一般由村（居）委会委员、大学生村官或者专业社会工作者担任）
    Qualification {
        CommitteeMember = ("committee_member", "村（居）委委员"),
        CollegeOfficial = ("college_official", "大学生村官"),
        SocialWorker = ("social_worker", "社会工作者"),
        /// 持证社工: holds a 社会工作者职业水平证书
        CertifiedSocialWorker = ("certified_social_worker", "持证社工"),
        Civil = ("civil_servant", "乡镇（街道）干部"),
        Other = ("other", "其他"),
    }
);

coded_enum!(
    /// 社会工作者职业水平证书等级
    Certificate {
        Assistant = ("assistant", "助理社会工作师"),
        Intermediate = ("intermediate", "社会工作师"),
        Senior = ("senior", "高级社会工作师"),
    }
);

/// A person appointed to a post, as typed.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub name: String,
    pub post: String,
    /// The division they serve (a township for a supervisor, a village for a director).
    pub division: String,
    pub qualification: Option<String>,
    pub certificate: Option<String>,
    pub phone: Option<String>,
    /// YYYY-MM-DD
    pub appointed_on: Option<String>,
}

/// A checked appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub name: String,
    pub post: Post,
    pub division: DivisionCode,
    pub qualification: Qualification,
    pub certificate: Option<Certificate>,
    pub phone: String,
    pub appointed_on: NaiveDate,
}

/// A date as people type it (2024-03-01, 2024/3/1, 2024年3月1日).
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, Invalid> {
    let t = s.trim();
    let norm: String = t
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "")
        .trim_end_matches('-')
        .to_string();
    NaiveDate::parse_from_str(&norm, "%Y-%m-%d").map_err(|_| {
        Invalid::new(
            "date",
            format!("{field}“{t}”不是有效日期，请写成 2024-03-01"),
        )
    })
}

/// A mainland phone number (11-digit mobile or a landline with its area code), or empty.
pub fn check_phone(s: &str) -> Result<String, Invalid> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.is_empty() {
        return Ok(String::new());
    }
    let mobile = digits.len() == 11 && digits.starts_with('1');
    let landline = (10..=12).contains(&digits.len()) && digits.starts_with('0');
    if digits.chars().all(|c| c.is_ascii_digit()) && (mobile || landline) {
        Ok(digits)
    } else {
        Err(Invalid::new(
            "phone",
            format!(
                "电话“{}”格式不对：请填 11 位手机号或带区号的座机号",
                s.trim()
            ),
        ))
    }
}

impl PersonInput {
    /// Checks an appointment; `today` is the default appointment date and its latest.
    pub fn check(&self, today: NaiveDate) -> Result<Appointment, (&'static str, Invalid)> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            return Err((
                "name",
                Invalid::new("name_required", "请填写姓名（30 字以内）"),
            ));
        }
        let post = Post::parse(&self.post).ok_or((
            "post",
            Invalid::new(
                "post_unknown",
                format!(
                    "岗位“{}”无法识别，可选：儿童督导员、儿童主任、工作人员",
                    self.post.trim()
                ),
            ),
        ))?;
        let division = DivisionCode::parse(&self.division).map_err(|_| {
            (
                "division",
                Invalid::new(
                    "division_code",
                    "请填写所服务的区划代码（督导员填乡镇 9 位，儿童主任填村 12 位）",
                ),
            )
        })?;
        if let Some(level) = post.level() {
            if division.level() != level {
                return Err((
                    "division",
                    Invalid::new(
                        "division_level",
                        format!(
                            "{}服务于{}，{division} 是{}",
                            post.label(),
                            level.label(),
                            division.level().label()
                        ),
                    ),
                ));
            }
        }
        let qualification = match self.qualification.as_deref().map(str::trim) {
            None | Some("") => Qualification::Other,
            Some(q) => Qualification::parse(q).ok_or((
                "qualification",
                Invalid::new(
                    "qualification_unknown",
                    format!(
                        "人员身份“{q}”无法识别，可选：{}",
                        Qualification::ALL
                            .iter()
                            .map(|q| q.label())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            ))?,
        };
        let certificate = match self.certificate.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(Certificate::parse(c).ok_or((
                "certificate",
                Invalid::new(
                    "certificate_unknown",
                    "证书等级可选：助理社会工作师、社会工作师、高级社会工作师",
                ),
            ))?),
        };
        if certificate.is_some() != (qualification == Qualification::CertifiedSocialWorker) {
            return Err((
                "certificate",
                Invalid::new(
                    "certificate_mismatch",
                    "持证社工请选择证书等级；其他身份不填证书等级",
                ),
            ));
        }
        let phone = check_phone(self.phone.as_deref().unwrap_or("")).map_err(|e| ("phone", e))?;
        let appointed_on = match self.appointed_on.as_deref().map(str::trim) {
            None | Some("") => today,
            Some(d) => parse_date("任职日期", d).map_err(|e| ("appointed_on", e))?,
        };
        if appointed_on > today {
            return Err((
                "appointed_on",
                Invalid::new("date_future", "任职日期不能晚于今天"),
            ));
        }
        Ok(Appointment {
            name: name.to_string(),
            post,
            division,
            qualification,
            certificate,
            phone,
            appointed_on,
        })
    }
}

/// Directors per 100 children, one decimal (None without children).
pub fn per_hundred(directors: i64, children: i64) -> Option<f64> {
    (children > 0).then(|| (directors as f64 * 1000.0 / children as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
    }

    fn input(post: &str, division: &str) -> PersonInput {
        PersonInput {
            name: " 李芳 ".into(),
            post: post.into(),
            division: division.into(),
            ..PersonInput::default()
        }
    }

    #[test]
    fn a_director_serves_a_village_and_a_supervisor_a_township() {
        let a = input("儿童主任", "510812100200").check(today()).unwrap();
        assert_eq!((a.name.as_str(), a.post), ("李芳", Post::Director));
        assert_eq!(a.appointed_on, today());
        let (field, e) = input("director", "510812100").check(today()).unwrap_err();
        assert_eq!(field, "division");
        assert!(e.message.contains("村"), "{}", e.message);
        assert!(input("supervisor", "510812100").check(today()).is_ok());
        assert!(input("staff", "510812").check(today()).is_ok());
    }

    #[test]
    fn a_certificate_goes_with_a_certified_social_worker_only() {
        let mut p = input("director", "510812100200");
        p.qualification = Some("持证社工".into());
        assert_eq!(p.check(today()).unwrap_err().0, "certificate");
        p.certificate = Some("社会工作师".into());
        let a = p.check(today()).unwrap();
        assert_eq!(a.certificate, Some(Certificate::Intermediate));
        p.qualification = Some("大学生村官".into());
        assert_eq!(p.check(today()).unwrap_err().0, "certificate");
    }

    #[test]
    fn dates_and_phones_as_people_type_them() {
        assert_eq!(
            parse_date("任职日期", "2024年3月1日").unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        assert_eq!(
            parse_date("任职日期", "2024/3/1").unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        assert!(parse_date("任职日期", "3月1日").is_err());
        assert_eq!(check_phone("139 1234 5678").unwrap(), "13912345678");
        assert_eq!(check_phone("0839-1234567").unwrap(), "08391234567");
        assert!(check_phone("12345").is_err());
        let mut p = input("director", "510812100200");
        p.appointed_on = Some("2027-01-01".into());
        assert_eq!(p.check(today()).unwrap_err().0, "appointed_on");
    }

    #[test]
    fn places_stand_at_their_level() {
        let village = DivisionCode::parse("510812100200").unwrap();
        let township = DivisionCode::parse("510812100").unwrap();
        assert!(PlaceKind::WorkPoint.check_division(village).is_ok());
        assert!(PlaceKind::WorkPoint.check_division(township).is_err());
        assert!(PlaceKind::Station.check_division(township).is_ok());
        assert!(PlaceKind::ServiceStation.check_division(village).is_ok());
        assert!(PlaceKind::ServiceStation.check_division(township).is_ok());
    }

    #[test]
    fn directors_per_hundred_children() {
        assert_eq!(per_hundred(139, 2_000), Some(7.0));
        assert_eq!(per_hundred(1, 3), Some(33.3));
        assert_eq!(per_hundred(5, 0), None);
    }
}
