//! Fuzzing the workbook reader with broken files: a real workbook truncated, with bytes
//! flipped, overwritten or inserted, thousands of times. Whatever arrives, the reader
//! answers Ok or a refusal; it never panics or hangs. (Zip bombs, files that are not
//! workbooks and oversized sheets have their own tests in read.rs.)

use chrono::NaiveDate;
use weibao_sheets::{read_table, write_table, HeaderMatcher, OutCell};

/// Mutated files per run.
const CASES: usize = 3_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn aliases() -> HeaderMatcher {
    HeaderMatcher::new(vec![
        ("name".into(), vec!["姓名".into()]),
        ("id_number".into(), vec!["身份证号".into()]),
        ("birth".into(), vec!["出生日期".into()]),
    ])
}

/// A ledger whose cells hold every type in every column (numbers where text belongs,
/// dates where numbers belong, long text, formulas-looking text).
fn workbook() -> Vec<u8> {
    let day = NaiveDate::from_ymd_opt(2015, 3, 7).unwrap();
    let rows = (0..40).map(|i| match i % 4 {
        0 => vec![
            OutCell::Text(format!("儿童{i}")),
            OutCell::Text("51081220150307001X".into()),
            OutCell::Date(day),
        ],
        1 => vec![
            OutCell::Number(510812201503070010.0),
            OutCell::Date(day),
            OutCell::Number(42.5),
        ],
        2 => vec![
            OutCell::Text("=1+1".into()),
            OutCell::Empty,
            OutCell::Text("二〇一五年三月七日".into()),
        ],
        _ => vec![
            OutCell::Text("长".repeat(3000)),
            OutCell::Number(-1.0),
            OutCell::Text("2015-02-30".into()),
        ],
    });
    write_table("台账", &["姓名", "身份证号", "出生日期"], rows).unwrap()
}

#[test]
fn wrong_types_in_every_column_are_read_as_cells_not_refused_or_crashed() {
    let table = read_table(&workbook(), &aliases(), &["name"], 1000).unwrap();
    assert_eq!(table.rows.len(), 40);
}

#[test]
fn broken_workbooks_never_panic() {
    let good = workbook();
    let seed = std::env::var("WEIBAO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    let mut rng = Rng(seed | 1);
    let (mut read, mut refused) = (0usize, 0usize);
    for case in 0..CASES {
        let mut bytes = good.clone();
        match case % 4 {
            0 => bytes.truncate(rng.below(good.len())),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let at = rng.below(bytes.len());
                let n = rng.below(64).min(bytes.len() - at);
                for b in &mut bytes[at..at + n] {
                    *b = rng.next() as u8;
                }
            }
            _ => {
                let at = rng.below(bytes.len());
                let junk: Vec<u8> = (0..rng.below(256)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, junk);
            }
        }
        match read_table(&bytes, &aliases(), &["name"], 1000) {
            Ok(_) => read += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty(), "case {case}: a refusal says why");
                refused += 1;
            }
        }
    }
    eprintln!("{CASES} broken workbooks (seed {seed}): {read} still read, {refused} refused, none crashed");
    assert!(refused > 0);
}
