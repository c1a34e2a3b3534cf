//! The `weibao` command line: serve, migrate, users, divisions, audit.

pub mod backup;
pub mod demo;
pub mod divisions_csv;
pub mod synth;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::{NewUser, Store};

#[derive(Parser)]
#[command(name = "weibao", version, about = "未保：未成年人保护工作平台")]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives; every command takes these.
#[derive(Args, Clone)]
pub struct DbArgs {
    /// Data directory (SQLite database weibao.db, photos, backups).
    #[arg(
        long,
        global = true,
        env = "WEIBAO_DATA_DIR",
        default_value = "./weibao-data"
    )]
    pub data_dir: PathBuf,
    /// Database URL: postgres://user@host/db for PostgreSQL; default SQLite in the data dir.
    #[arg(long, global = true, env = "WEIBAO_DATABASE_URL")]
    pub database: Option<String>,
    /// Field encryption key file (身份证号, details, history); default
    /// <data-dir>/weibao.keys. Keep it apart from the database and its backups.
    #[arg(long, global = true, env = "WEIBAO_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (applies migrations first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "WEIBAO_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// On an empty database, load the 朝天区 demo (divisions, stations, accounts).
        #[arg(long)]
        demo: bool,
        /// The address phones reach this server at, printed in the cards' QR codes
        /// (default: the address the browser used).
        #[arg(long, env = "WEIBAO_PUBLIC_URL")]
        public_url: Option<String>,
        /// Behind a reverse proxy (TLS): take each client's address from the proxy's
        /// X-Forwarded-For, for the audit log and the sign-in rate limits. Only when the
        /// server is reachable through the proxy alone.
        #[arg(long, env = "WEIBAO_TRUST_PROXY")]
        trust_proxy: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the whole installation (every record, version, audit entry and photo; not
    /// sign-ins) to one file, while the server keeps running: a consistent snapshot.
    Backup {
        /// The backup file to write (gzip-compressed JSON lines), e.g. weibao-2026-11-23.backup.
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a backup into this (empty) database and data directory: all of it or nothing.
    /// A backup made on SQLite restores on PostgreSQL and the other way round.
    Restore {
        /// A file written by `weibao backup`.
        file: PathBuf,
    },
    /// The database itself: placing the schema on a Citus cluster.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The statistics' counters.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage division codes (统计用区划代码).
    Divisions {
        #[command(subcommand)]
        command: DivisionsCommand,
    },
    /// Field encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Generate a synthetic province on the divisions in the database (for scale tests and
    /// benchmarks; the data is fictional): a child director for every village and a
    /// supervisor for every township (password ChangeMe#2026, to be changed at first
    /// sign-in), children spread over the villages, their schedules and two years of visits.
    Gen {
        /// How many children.
        #[arg(long, default_value_t = 1_000_000)]
        children: usize,
        /// Spread them over the villages under this division (default 山东省).
        #[arg(long, default_value = "37")]
        under: String,
        /// Same seed, same children.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Schedules only: no visit records (about ten a child otherwise).
        #[arg(long)]
        no_visits: bool,
        /// Write them as an Excel ledger (for import tests) instead of registering them.
        #[arg(long)]
        xlsx: Option<PathBuf>,
        /// Write them as a department's 低保 list (姓名、公民身份号码、乡镇、村、保障类别;
        /// for the matching benchmark) instead of registering them.
        #[arg(long, conflicts_with = "xlsx")]
        list: Option<PathBuf>,
        /// Then confirm this many allowance cases (基本生活保障) for children the ledger
        /// shows eligible, confirmed 62 days ago (for roll benchmarks).
        #[arg(long, default_value_t = 0)]
        allowances: usize,
        /// And this many more waiting for the county's confirmation.
        #[arg(long, default_value_t = 0)]
        allowances_checked: usize,
        /// Then file this many reports (walk-ins, spread over the villages), each waiting
        /// in its county office's inbox to be triaged (for the inbox benchmark).
        #[arg(long, default_value_t = 0)]
        reports: usize,
    },
    /// Allowances (基本生活保障): generate and lock a county's monthly roll, export it as
    /// a bank file.
    Allowances {
        #[command(subcommand)]
        command: AllowancesCommand,
    },
    /// Local settings (rule parameters, 困境 sub-types, import header aliases).
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Departments' lists (数据共享) matched against a county's ledger.
    Lists {
        #[command(subcommand)]
        command: ListsCommand,
    },
    /// Import records from Excel.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export records to Excel.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
}

#[derive(Subcommand)]
pub enum StatsCommand {
    /// Recount every ledger counter from the records and name each one that differs;
    /// exits 1 when any does. Changes nothing.
    Check,
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Check what every write keeps together (each record has its current version, each
    /// visit its child, each photo its file, every audit chain verifies); exits 1 and
    /// names what is broken.
    Check,
    /// Move the whole installation to another database, e.g. from SQLite to PostgreSQL
    /// when a county outgrows one file. The target must be new and empty; photos stay in
    /// the data directory. The source may keep serving while this runs (a snapshot).
    Copy {
        /// Source database URL (default: this installation, --database or the data dir).
        #[arg(long)]
        from: Option<String>,
        /// Target database URL, e.g. postgres://weibao@db/weibao.
        #[arg(long)]
        to: String,
    },
    /// The storage's own limits, for the benchmark (scripts/bench): a visit's row inserted
    /// straight into the database with the server's durability (one commit per row, and 64
    /// rows a commit), and a county's first ledger page selected straight. Run it while no
    /// server uses the database; it writes only a scratch table it drops.
    Limits {
        /// The division whose first ledger page is read (as an office there lists it).
        #[arg(long)]
        division: String,
        /// Concurrent writers and readers.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds per figure.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// On a Citus coordinator (--database): reference tables on every node, the large
    /// tables sharded by county and colocated. Idempotent; refuses elsewhere.
    Distribute {
        /// Shards per distributed table (a new shard group; existing ones keep theirs).
        #[arg(long, default_value_t = weibao_store::DEFAULT_SHARDS)]
        shards: u32,
    },
}

#[derive(Subcommand)]
pub enum AllowancesCommand {
    /// Generate (again, while a draft) a county's roll of a month from its confirmed
    /// cases and the standards in force; prints its totals and how long it took.
    Roll {
        /// The county (6 digits).
        #[arg(long)]
        division: String,
        /// YYYY-MM (default this month).
        #[arg(long)]
        month: Option<String>,
        /// Lock it too (it never changes after).
        #[arg(long)]
        lock: bool,
    },
    /// Write a roll's bank file (one row per payee with the month's net amount).
    Export {
        /// The roll's id (printed by `allowances roll`).
        #[arg(long)]
        roll: String,
        /// The file to write: .xlsx, or .csv.
        #[arg(long)]
        out: PathBuf,
        /// CSV encoding: utf-8, gbk or gb18030.
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// A bank's layout (setting allowance_bank_layouts); default the general one.
        #[arg(long)]
        bank: Option<String>,
        /// The full 身份证号 instead of the masked one.
        #[arg(long)]
        full_id: bool,
    },
}

#[derive(Subcommand)]
pub enum SettingsCommand {
    /// Set a value for a region (or the whole platform) from a date.
    Set {
        /// category_rules, distress_subtypes, visit_policy, import_header_aliases or password_policy.
        #[arg(long)]
        key: String,
        /// Division code the value applies to (and below); omit for the national default.
        #[arg(long)]
        region: Option<String>,
        /// First day the value applies (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// The value as JSON (see `weibao settings keys`).
        #[arg(long)]
        value: String,
    },
    /// List the keys and an example value of each.
    Keys,
}

#[derive(Subcommand)]
pub enum ListsCommand {
    /// Match a department's list (.xlsx) against a county's ledger, as the office's upload
    /// does (the list kept sealed, findings and the villages' tasks written), in the
    /// foreground with its timings: for lists past the upload limit, and benchmarks.
    Match {
        /// The workbook.
        file: PathBuf,
        /// The county (6 digits or 12).
        #[arg(long)]
        division: String,
        /// The list's kind: dibao, tekun, disability, prison, detox, enrolled, dropout,
        /// birth, death or insured (or its Chinese name, e.g. 低保).
        #[arg(long)]
        kind: String,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import a children's ledger (.xlsx): all rows or none.
    Children {
        /// The workbook.
        file: PathBuf,
        /// The division the sheet is for (villages are resolved by name within it).
        #[arg(long)]
        division: String,
        /// Check and report every bad row; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The field of a column where the dry run's choice should change: JSON from column
        /// letters to a field ("" = do not import), e.g. '{"H":"guardian_phone","I":""}'.
        #[arg(long)]
        mapping: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export the ledger of a division (身份证号 masked).
    Children {
        #[arg(long)]
        division: String,
        /// Where to write the .xlsx.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (first line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// admin, office, supervisor, director, unit, reporter or auditor.
        #[arg(long)]
        role: String,
        /// Home division code (2/4/6/9/12 digits).
        #[arg(long)]
        division: String,
        /// Member unit (公安, 教育, ...) for the unit and reporter roles.
        #[arg(long)]
        unit: Option<String>,
        /// Name shown in the UI (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Make the user change the password at first sign-in.
        #[arg(long)]
        temporary: bool,
        /// Designate the user to handle 受艾滋病影响儿童 records.
        #[arg(long)]
        designated: bool,
        /// The office head (未保办主任, office role only): approves closing cases.
        #[arg(long)]
        head: bool,
    },
}

#[derive(Subcommand)]
pub enum DivisionsCommand {
    /// Load NBS division CSVs (.csv or .csv.gz, any level, any order).
    Import {
        /// provinces.csv.gz, cities.csv.gz, areas.csv.gz, streets.csv.gz, villages.csv.gz, ...
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Keep only this subtree (and its ancestors).
        #[arg(long)]
        under: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Seal every encrypted field with a new SM4 key, then drop the old one from the key
    /// file and the database. Stop the server first; safe to run again if interrupted.
    Rotate,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every hash chain; exits non-zero and names the first bad entry.
    Verify,
}

/// Opens the store and applies migrations.
pub async fn open(db: &DbArgs) -> Result<Store, String> {
    let store = Store::open_with_keys(db.database.as_deref(), &db.data_dir, db.key_file.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// Opens a database that is to receive a backup or a copy: migrated, its keys not loaded
/// (they arrive with the data and are checked against the key file then).
pub async fn open_target(db: &DbArgs) -> Result<Store, String> {
    let store = Store::open_with_keys(db.database.as_deref(), &db.data_dir, db.key_file.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    store.migrate_schema().await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// Runs a command; Err carries the message for standard error (exit code 1).
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            bind,
            demo,
            public_url,
            trust_proxy,
        } => serve(&cli.db, bind, demo, public_url, trust_proxy).await,
        Command::Migrate => {
            let store = Store::open_with_keys(
                cli.db.database.as_deref(),
                &cli.db.data_dir,
                cli.db.key_file.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
            let done = store.migrate().await.map_err(|e| e.to_string())?;
            if done.is_empty() {
                println!("数据库结构已是最新（{}）", store.backend().as_str());
            } else {
                println!("已应用迁移：{}", done.join(", "));
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let store = open(&cli.db).await?;
            let started = std::time::Instant::now();
            let (id, done) = store.rotate_keys().await.map_err(|e| e.to_string())?;
            println!(
                "密钥已轮换为编号 {id}：重新加密 {} 份儿童档案、{} 条修改记录、{} 条报告与个案记录、{} 项保障账户和名册记录（用时 {:.1} 秒），旧密钥已从密钥文件和数据库中删除",
                done.children,
                done.versions,
                done.records,
                done.allowances,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Backup { out } => {
            let store = open(&cli.db).await?;
            println!("{}", backup::backup(&store, &out).await?);
            Ok(())
        }
        Command::Restore { file } => {
            let store = open_target(&cli.db).await?;
            println!("{}", backup::restore(&store, &file).await?);
            Ok(())
        }
        Command::Db {
            command:
                DbCommand::Limits {
                    division,
                    clients,
                    seconds,
                },
        } => {
            let division =
                DivisionCode::parse(&division).map_err(|e| format!("--division：{}", e.message))?;
            if !(0.1..=600.0).contains(&seconds) {
                return Err("--seconds：请给 0.1 到 600 之间的秒数".into());
            }
            let store = open(&cli.db).await?;
            let l = store
                .storage_limits(division, clients, seconds)
                .await
                .map_err(|e| e.to_string())?;
            let line = |label: &str, r: &weibao_store::Rate| {
                println!(
                    "{label:<44} {:>9.0}/s  p50 {:.2} ms  p99 {:.2} ms  ({} in all)",
                    r.per_sec, r.p50_ms, r.p99_ms, r.ops
                )
            };
            line(
                &format!("storage: insert a visit row, 1 commit each, {clients} writers"),
                &l.insert_each,
            );
            line(
                &format!(
                    "storage: insert visit rows, {} statements a commit",
                    l.batch
                ),
                &l.insert_batched,
            );
            line(
                &format!(
                    "storage: insert visit rows, {} in 1 statement a commit",
                    l.batch
                ),
                &l.insert_multirow,
            );
            line(
                &format!("storage: first ledger page (50), {clients} readers"),
                &l.first_page,
            );
            Ok(())
        }
        Command::Stats {
            command: StatsCommand::Check,
        } => {
            let store = open(&cli.db).await?;
            let problems = store.check_counts().await.map_err(|e| e.to_string())?;
            if problems.is_empty() {
                println!("统计计数与台账记录一致");
                Ok(())
            } else {
                Err(format!(
                    "{} 个统计计数与记录不符：\n{}",
                    problems.len(),
                    problems.join("\n")
                ))
            }
        }
        Command::Db {
            command: DbCommand::Check,
        } => {
            let store = open(&cli.db).await?;
            let problems = store.check_integrity().await.map_err(|e| e.to_string())?;
            if problems.is_empty() {
                println!("数据完整：记录与版本一致，照片文件齐全，审计链完整");
                Ok(())
            } else {
                Err(format!(
                    "发现 {} 类问题：\n{}",
                    problems.len(),
                    problems.join("\n")
                ))
            }
        }
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => {
            let source_args = DbArgs {
                data_dir: cli.db.data_dir.clone(),
                database: from.or(cli.db.database.clone()),
                key_file: cli.db.key_file.clone(),
            };
            let target_args = DbArgs {
                data_dir: cli.db.data_dir.clone(),
                database: Some(to),
                key_file: cli.db.key_file.clone(),
            };
            if source_args.database.as_deref().map(str::trim)
                == target_args.database.as_deref().map(str::trim)
            {
                return Err("--from 与 --to 是同一个数据库：请让 --to 指向新建的空数据库".into());
            }
            let source = open(&source_args).await?;
            let target = open_target(&target_args)
                .await
                .map_err(|e| format!("--to：{e}"))?;
            println!("{}", backup::copy(&source, &target).await?);
            Ok(())
        }
        Command::Db {
            command: DbCommand::Distribute { shards },
        } => {
            // Refuse before opening: opening would create an empty SQLite database.
            let url = cli.db.database.as_deref().unwrap_or("").trim();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(
                    "SQLite 数据库不能分布式部署：请先把数据迁到 PostgreSQL（Citus 协调节点），\
                     再用 --database postgres://… 指向协调节点执行本命令"
                        .into(),
                );
            }
            let store = open(&cli.db).await?;
            let placed = store.distribute(shards).await.map_err(|e| e.to_string())?;
            let mut changed = 0;
            for t in &placed {
                let how = match t.placement {
                    weibao_store::Placement::Reference => "参考表（每个节点一份）".to_string(),
                    weibao_store::Placement::Distributed { column, group } => {
                        format!("按 {column} 分片，{} 片，共置组 {group}", t.shards)
                    }
                };
                let state = if t.changed {
                    "已分布"
                } else {
                    "原已分布"
                };
                println!("{:<20} {state}：{how}", t.table);
                changed += usize::from(t.changed);
            }
            println!(
                "完成：{changed} 张表本次分布，{} 张原已分布",
                placed.len() - changed
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    password_stdin: _,
                    role,
                    division,
                    unit,
                    display_name,
                    temporary,
                    designated,
                    head,
                },
        } => {
            let role = Role::parse(&role).map_err(|e| format!("--role：{}", e.message))?;
            if head && role != Role::Office {
                return Err("--head：只有未保办工作人员（--role office）可以设为未保办主任".into());
            }
            let division =
                DivisionCode::parse(&division).map_err(|e| format!("--division：{}", e.message))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("无法从标准输入读取密码：{e}"))?;
            let password = password.lines().next().unwrap_or("").to_string();
            let store = open(&cli.db).await?;
            let user = store
                .create_user(
                    &Scope::system(),
                    NewUser {
                        display_name: display_name.unwrap_or_else(|| username.clone()),
                        username,
                        role,
                        division,
                        unit,
                        phone: None,
                        password,
                        must_change_password: temporary,
                        designated,
                    },
                )
                .await
                .map_err(|e| match e {
                    weibao_store::StoreError::Invalid { field, invalid } => {
                        format!("--{}：{}", field.replace('_', "-"), invalid.message)
                    }
                    other => other.to_string(),
                })?;
            if head {
                store
                    .set_head(&Scope::system(), &user.id, true)
                    .await
                    .map_err(|e| match e {
                        weibao_store::StoreError::Invalid { invalid, .. } => {
                            format!("--head：{}", invalid.message)
                        }
                        other => other.to_string(),
                    })?;
            }
            println!(
                "已创建用户 {}（{}{}，{}）",
                user.username,
                user.role.label(),
                if head { "，未保办主任" } else { "" },
                user.division.full()
            );
            Ok(())
        }
        Command::Divisions {
            command: DivisionsCommand::Import { files, under },
        } => import_divisions(&cli.db, &files, under.as_deref()).await,
        Command::Gen {
            children,
            under,
            seed,
            no_visits,
            xlsx,
            list,
            allowances,
            allowances_checked,
            reports,
        } => {
            let sheet = match (xlsx.as_deref(), list.as_deref()) {
                (Some(p), _) => Some((p, Sheet::Ledger)),
                (None, Some(p)) => Some((p, Sheet::List)),
                (None, None) => None,
            };
            generate(&cli.db, children, &under, seed, !no_visits, sheet).await?;
            let xlsx = sheet;
            if reports > 0 && xlsx.is_none() {
                generate_reports(&cli.db, &under, reports, seed).await?;
            }
            if allowances + allowances_checked > 0 && xlsx.is_none() {
                let under =
                    DivisionCode::parse(&under).map_err(|e| format!("--under：{}", e.message))?;
                let store = open(&cli.db).await?;
                let started = std::time::Instant::now();
                let (confirmed, checked) = store
                    .synthesize_allowances(
                        &Scope::system(),
                        under,
                        allowances,
                        allowances_checked,
                        seed,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "已生成保障对象 {confirmed} 名（已确认）、待县级确认的申请 {checked} 份，用时 {:.1} 秒",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Allowances { command } => allowances(&cli.db, command).await,
        Command::Settings {
            command: SettingsCommand::Keys,
        } => {
            for (key, example) in weibao_store::SETTING_KEYS {
                println!("{key}\n  例：{example}");
            }
            Ok(())
        }
        Command::Settings {
            command:
                SettingsCommand::Set {
                    key,
                    region,
                    from,
                    value,
                },
        } => set_setting(&cli.db, &key, region.as_deref(), &from, &value).await,
        Command::Lists {
            command:
                ListsCommand::Match {
                    file,
                    division,
                    kind,
                },
        } => match_list(&cli.db, &file, &division, &kind).await,
        Command::Import {
            command:
                ImportCommand::Children {
                    file,
                    division,
                    dry_run,
                    mapping,
                },
        } => import_children(&cli.db, &file, &division, dry_run, mapping.as_deref()).await,
        Command::Export {
            command: ExportCommand::Children { division, out },
        } => {
            let division =
                DivisionCode::parse(&division).map_err(|e| format!("--division：{}", e.message))?;
            let store = open(&cli.db).await?;
            let filter = weibao_store::ChildFilter {
                division: Some(division),
                per_page: 200,
                page: 1,
                ..Default::default()
            };
            let started = std::time::Instant::now();
            let bytes =
                weibao_web::ledger_io::export_children(&store, &Scope::system(), &filter, "cli")
                    .await
                    .map_err(|e| e.to_string())?;
            std::fs::write(&out, &bytes).map_err(|e| format!("无法写入 {}：{e}", out.display()))?;
            println!(
                "已导出到 {}（{} 字节，用时 {:.1} 秒）",
                out.display(),
                bytes.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let store = open(&cli.db).await?;
            match store.verify_audit().await.map_err(|e| e.to_string())? {
                Ok(n) => {
                    println!("审计链完整：共校验 {n} 条");
                    Ok(())
                }
                Err(bad) => Err(format!("审计链校验失败：{bad}")),
            }
        }
    }
}

async fn import_divisions(
    db: &DbArgs,
    files: &[PathBuf],
    under: Option<&str>,
) -> Result<(), String> {
    let under = under
        .map(|u| DivisionCode::parse(u).map_err(|e| format!("--under：{}", e.message)))
        .transpose()?;
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    let reading = ProgressBar::new_spinner().with_message("读取区划文件");
    for f in files {
        reading.set_message(format!("读取 {}", f.display()));
        let n = divisions_csv::read_file(f, under, &mut rows)?;
        reading.println(format!("{}：{n} 条", f.display()));
    }
    reading.finish_and_clear();
    let store = open(db).await?;
    let bar = ProgressBar::new(rows.len() as u64).with_style(
        ProgressStyle::with_template("写入区划 {bar:30} {pos}/{len} （{per_sec}，剩余 {eta}）")
            .expect("progress template"),
    );
    let changed = store
        .import_divisions(&Scope::system(), &rows, |done| {
            bar.set_position(done as u64)
        })
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "区划导入完成：读取 {} 条，新增或更名 {changed} 条，用时 {secs:.1} 秒（{:.0} 条/秒）",
        rows.len(),
        rows.len() as f64 / secs.max(0.001)
    );
    Ok(())
}

async fn match_list(db: &DbArgs, file: &Path, division: &str, kind: &str) -> Result<(), String> {
    use weibao_domain::finding::matching::ListKind;
    let county = DivisionCode::parse(division).map_err(|e| format!("--division：{}", e.message))?;
    if county.level() != weibao_domain::Level::County {
        return Err("--division：请给出一个县（区）的代码，如 510812".into());
    }
    let kind = ListKind::parse(kind)
        .ok_or_else(|| format!("--kind：名单类别应为 {} 之一", ListKind::codes().join("、")))?;
    let bytes = std::fs::read(file).map_err(|e| format!("无法读取 {}：{e}", file.display()))?;
    let store = open(db).await?;
    let started = std::time::Instant::now();
    let villages = weibao_web::ledger_io::Villages::new(
        store
            .villages_within(&Scope::system(), county)
            .await
            .map_err(|e| e.to_string())?,
    );
    let (rows, reading) =
        weibao_web::finding_io::read_list(&bytes, &villages, store.clock().today())
            .map_err(|e| format!("{}：{e}", file.display()))?;
    let read_secs = started.elapsed().as_secs_f64();
    println!(
        "读取名单 {} 行，可比对 {} 行、不能比对 {} 行，用时 {read_secs:.1} 秒",
        reading.rows_read,
        reading.rows_good,
        reading.errors.len()
    );
    // As the county's office: the list is the office's, like an upload.
    let office = Scope::new("", "命令行", Role::Office, county, None);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "名单.xlsx".into());
    let n = rows.len();
    let list = store
        .add_dept_list(&office, kind, &name, &bytes, n, "cli")
        .await
        .map_err(|e| e.to_string())?;
    let matching = std::time::Instant::now();
    let done = store
        .match_dept_list(&list.id, rows)
        .await
        .map_err(|e| e.to_string())?;
    let secs = matching.elapsed().as_secs_f64();
    println!(
        "比对完成 {}：{n} 行，不在台账 {}、情况有变 {}、与台账不符 {}，比对用时 {secs:.1} 秒（{:.0} 行/秒），合计 {:.1} 秒",
        done.id,
        done.missing,
        done.changed,
        done.contradicts,
        n as f64 / secs.max(1e-9),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What `gen` writes instead of registering the children.
#[derive(Debug, Clone, Copy)]
enum Sheet {
    Ledger,
    List,
}

async fn generate(
    db: &DbArgs,
    n: usize,
    under: &str,
    seed: u64,
    visits: bool,
    sheet: Option<(&Path, Sheet)>,
) -> Result<(), String> {
    let under = DivisionCode::parse(under).map_err(|e| format!("--under：{}", e.message))?;
    let store = open(db).await?;
    let villages: Vec<DivisionCode> = store
        .villages_within(&Scope::system(), under)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(c, _, _)| c)
        .collect();
    if villages.is_empty() {
        return Err(format!(
            "--under：{under} 下没有村级区划：请先用 weibao divisions import 导入区划"
        ));
    }
    let started = std::time::Instant::now();
    let today = store.clock().today();
    let bar = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template("生成儿童 {bar:30} {pos}/{len} （{per_sec}，剩余 {eta}）")
            .expect("progress template"),
    );
    let mut generator = synth::Generator::new(seed, villages.clone(), today);
    if let Some((path, kind)) = sheet {
        let records = generator.batch(n);
        // Villages by township and the name people write, or by code where even the
        // township leaves two alike (the importer's own lookup decides).
        let all = store
            .villages_within(&Scope::system(), under)
            .await
            .map_err(|e| e.to_string())?;
        let lookup = weibao_web::ledger_io::Villages::new(all.clone());
        let places: std::collections::HashMap<DivisionCode, (String, String)> = all
            .into_iter()
            .map(|(c, name, township)| {
                let label = match lookup.resolve(None, Some(&name), Some(&township)) {
                    Ok(found) if found == c => name,
                    _ => c.full(),
                };
                (c, (township, label))
            })
            .collect();
        let bytes = match kind {
            Sheet::Ledger => {
                let rows = records.iter().map(|r| synth::ledger_row(r, &places));
                weibao_sheets::write_table("儿童台账", synth::LEDGER_HEADERS, rows)?
            }
            Sheet::List => {
                let rows = records.iter().map(|r| synth::list_row(r, &places));
                weibao_sheets::write_table("低保名单", synth::LIST_HEADERS, rows)?
            }
        };
        std::fs::write(path, &bytes).map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
        println!(
            "已写出 {n} 行{}到 {}（{:.1} 秒）",
            match kind {
                Sheet::Ledger => "台账",
                Sheet::List => "名单",
            },
            path.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    // Staff first, so that each village's children get its director.
    let (directors, supervisors) = store
        .add_synthetic_staff(&Scope::system(), under, "ChangeMe#2026")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "已生成儿童主任 {directors} 名、儿童督导员 {supervisors} 名（用户名 d+村代码、s+乡镇代码，初始密码 ChangeMe#2026），用时 {:.1} 秒",
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    // Batches of one transaction each: a crash loses at most the batch in progress.
    const BATCH: usize = 20_000;
    let mut done = 0;
    while done < n {
        let mut records = generator.batch(BATCH.min(n - done));
        // Numbers an earlier run registered are left out (and never drawn again).
        let ids: Vec<weibao_domain::IdNumber> =
            records.iter().map(|r| r.id_number().clone()).collect();
        let taken = store
            .registered_ids(&ids)
            .await
            .map_err(|e| e.to_string())?;
        if !taken.is_empty() {
            records.retain(|r| !taken.iter().any(|(id, _)| id == r.id_number()));
            generator.exclude(taken.into_iter().map(|(id, _)| id.to_string()));
        }
        let records = records.into_iter().map(|r| (r, false)).collect();
        done += store
            .import_children(&Scope::system(), under, records, "gen", |k| {
                bar.set_position((done + k) as u64)
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "已生成 {done} 名儿童，用时 {secs:.1} 秒（{:.0} 行/秒）",
        done as f64 / secs.max(0.001)
    );
    let started = std::time::Instant::now();
    let bar = ProgressBar::new(done as u64).with_style(
        ProgressStyle::with_template("模拟探访 {bar:30} {pos}/{len} 名儿童 {msg}（剩余 {eta}）")
            .expect("progress template"),
    );
    let (n, v) = store
        .synthesize_schedules(&Scope::system(), under, seed, visits, |children, visits| {
            bar.set_position(children);
            bar.set_message(format!("{visits} 条探访记录"));
        })
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if visits {
        println!(
            "已为 {n} 名儿童写出两年的探访记录 {v} 条和下次探访日期，用时 {secs:.1} 秒（{:.0} 条/秒）",
            v as f64 / secs.max(0.001)
        );
    } else {
        println!("已为 {n} 名儿童模拟上次探访与下次探访日期（只写排期，不写探访记录），用时 {secs:.1} 秒");
    }
    let started = std::time::Instant::now();
    let counties = store
        .refresh_counts(Some(under))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "已重算 {counties} 个县（区）的统计计数，用时 {:.1} 秒",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Files `n` made-up reports over the villages under `under`, 64 at a time (as many
/// clients would), with a progress bar.
async fn generate_reports(db: &DbArgs, under: &str, n: usize, seed: u64) -> Result<(), String> {
    use weibao_domain::reports::ReportInput;
    let under = DivisionCode::parse(under).map_err(|e| format!("--under：{}", e.message))?;
    let store = open(db).await?;
    let villages = store
        .villages_within(&Scope::system(), under)
        .await
        .map_err(|e| e.to_string())?;
    if villages.is_empty() {
        return Err(format!(
            "--under：{} 下没有村（居），请先导入区划",
            under.full()
        ));
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    let started = std::time::Instant::now();
    let mut rng = synth::Rng::new(seed ^ 0x5eed_4e90);
    let mut next = 0usize;
    while next < n {
        let batch = (n - next).min(64);
        let mut tasks = Vec::with_capacity(batch);
        for _ in 0..batch {
            let village = rng.pick(&villages).0;
            let store = store.clone();
            let situation = ["s4", "s6", "hardship", "other"][rng.below(4) as usize];
            tasks.push(tokio::spawn(async move {
                let now = chrono::DateTime::from_timestamp_millis(store.clock().now_ms())
                    .expect("a time")
                    .with_timezone(&weibao_domain::visit::cst());
                let report = ReportInput {
                    channel: Some("walk_in".into()),
                    situations: vec![situation.into()],
                    description: "（生成的测试数据）群众来访反映孩子无人照看".into(),
                    ..ReportInput::default()
                }
                .check(now, None)
                .map_err(|e| e.invalid.message)?;
                store
                    .file_report(
                        &Scope::system(),
                        weibao_store::NewReport {
                            report,
                            division: village,
                            child_id: None,
                            visit_id: None,
                            hotline_order: None,
                            hotline_due_at: None,
                        },
                        "gen",
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
        next += batch;
        bar.set_position(next as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "已登记报告 {n} 份，用时 {secs:.1} 秒（{:.0} 份/秒）",
        n as f64 / secs
    );
    Ok(())
}

async fn allowances(db: &DbArgs, command: AllowancesCommand) -> Result<(), String> {
    let store = open(db).await?;
    let system = Scope::system();
    match command {
        AllowancesCommand::Roll {
            division,
            month,
            lock,
        } => {
            let division =
                DivisionCode::parse(&division).map_err(|e| format!("--division：{}", e.message))?;
            let month = match month {
                Some(m) => weibao_domain::Month::parse("--month", &m).map_err(|e| e.message)?,
                None => weibao_domain::Month::of(store.clock().today()),
            };
            let started = std::time::Instant::now();
            let roll = store
                .generate_roll(&system, division, month, "cli")
                .await
                .map_err(|e| e.to_string())?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "已生成 {} {month} 发放名册 {}：{} 人，{} 行，合计 {} 元（{} 万元），用时 {secs:.2} 秒",
                division.county_code(),
                roll.id,
                roll.people,
                roll.lines,
                roll.total.yuan_grouped(),
                roll.total.wan()
            );
            for w in &roll.warnings {
                println!("预算提醒：{w}");
            }
            if lock {
                let started = std::time::Instant::now();
                store
                    .lock_roll(&system, &roll.id, true, "cli")
                    .await
                    .map_err(|e| e.to_string())?;
                println!("已锁定，用时 {:.2} 秒", started.elapsed().as_secs_f64());
            }
            Ok(())
        }
        AllowancesCommand::Export {
            roll,
            out,
            encoding,
            bank,
            full_id,
        } => {
            use weibao_web::allowances_io::{bank_file, Encoding, Format};
            let csv = out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let format = if csv {
                Format::Csv(match encoding.as_str() {
                    "utf-8" => Encoding::Utf8,
                    "gbk" => Encoding::Gbk,
                    "gb18030" => Encoding::Gb18030,
                    other => {
                        return Err(format!(
                            "--encoding：“{other}”无法识别，可选 utf-8、gbk、gb18030"
                        ))
                    }
                })
            } else {
                Format::Xlsx
            };
            let started = std::time::Instant::now();
            let file = bank_file(
                &store,
                &system,
                &roll,
                bank.as_deref(),
                full_id,
                format,
                "cli",
            )
            .await
            .map_err(|e| e.message)?;
            std::fs::write(&out, &file.bytes)
                .map_err(|e| format!("无法写入 {}：{e}", out.display()))?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "已导出 {} 行到 {}（{} 字节，用时 {secs:.2} 秒，{:.0} 行/秒）",
                file.rows,
                out.display(),
                file.bytes.len(),
                file.rows as f64 / secs.max(0.001)
            );
            Ok(())
        }
    }
}

async fn set_setting(
    db: &DbArgs,
    key: &str,
    region: Option<&str>,
    from: &str,
    value: &str,
) -> Result<(), String> {
    if !weibao_store::SETTING_KEYS.iter().any(|(k, _)| *k == key) {
        return Err(format!(
            "--key：没有设置项“{key}”，可选：{}",
            weibao_store::SETTING_KEYS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join("、")
        ));
    }
    let region = region
        .map(|r| DivisionCode::parse(r).map_err(|e| format!("--region：{}", e.message)))
        .transpose()?;
    let from = chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d")
        .map_err(|_| format!("--from：日期“{from}”无效，请按 2026-01-01 的格式填写"))?;
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|e| format!("--value：不是有效的 JSON：{e}"))?;
    // The value must be what the platform will read: refuse it now rather than ignore it later.
    let checked = match key {
        weibao_store::CATEGORY_RULES => {
            serde_json::from_value::<weibao_domain::categories::RuleParams>(json.clone())
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        weibao_store::PASSWORD_POLICY => {
            if region.is_some() {
                return Err("--region：密码策略全平台统一，请不要指定 --region".into());
            }
            serde_json::from_value::<weibao_store::PasswordRules>(json.clone())
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    if r.history > 24 || r.max_age_days > 3650 {
                        Err("history 不超过 24，max_age_days 不超过 3650（0 表示不过期）".into())
                    } else {
                        Ok(())
                    }
                })
        }
        weibao_store::DISTRESS_SUBTYPES => serde_json::from_value::<Vec<String>>(json.clone())
            .map(|_| ())
            .map_err(|e| e.to_string()),
        weibao_store::VISIT_POLICY => {
            serde_json::from_value::<weibao_domain::visit::VisitPolicy>(json.clone())
                .map_err(|e| e.to_string())
                .and_then(|p| p.validate().map_err(|e| e.message))
        }
        weibao_store::ALLOWANCE_RULES => {
            serde_json::from_value::<weibao_domain::allowances::AllowanceRules>(json.clone())
                .map_err(|e| e.to_string())
                .and_then(|r| r.validate().map_err(|e| e.message))
        }
        weibao_store::ALLOWANCE_BANK_LAYOUTS => {
            serde_json::from_value::<Vec<weibao_web::allowances_io::LayoutSetting>>(json.clone())
                .map_err(|e| e.to_string())
                .and_then(|list| {
                    list.iter()
                        .try_for_each(|l| l.layout().map(|_| ()))
                        .map_err(|e| e.message)
                })
        }
        weibao_store::DEADLINE_RULES => weibao_domain::work::deadlines::DeadlineRules::parse(
            &json,
            &weibao_domain::reports::Channel::codes(),
        )
        .map(|_| ())
        .map_err(|e| e.message),
        weibao_store::REFERRAL_ACCESS_DAYS => match json.as_i64() {
            Some(d) if (0..=365).contains(&d) => Ok(()),
            _ => Err("应为 0 到 365 之间的天数，如 30".into()),
        },
        weibao_store::OFFLINE_DAYS => match json.as_i64() {
            Some(d) if (1..=90).contains(&d) => Ok(()),
            _ => Err("应为 1 到 90 之间的天数，如 7".into()),
        },
        weibao_store::MEETINGS_PER_YEAR => match json.as_u64() {
            Some(n) if n <= 12 => Ok(()),
            _ => Err("应为 0 到 12 之间的次数，如 2".into()),
        },
        weibao_store::LIST_RETENTION_DAYS => match json.as_i64() {
            Some(d) if (1..=3650).contains(&d) => Ok(()),
            _ => Err("应为 1 到 3650 之间的天数，如 90".into()),
        },
        weibao_store::WARNING_RULES => weibao_domain::finding::warnings::WarningRules::parse(&json)
            .map(|_| ())
            .map_err(|e| e.message),
        _ => {
            serde_json::from_value::<std::collections::BTreeMap<String, Vec<String>>>(json.clone())
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    checked.map_err(|e| {
        format!("--value：内容不符合 {key} 的格式（{e}）；用 weibao settings keys 查看示例")
    })?;
    let store = open(db).await?;
    store
        .put_setting(&Scope::system(), key, region, from, &json)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "已设置 {key}（{}，自 {from} 起）",
        region
            .map(|r| r.full())
            .unwrap_or_else(|| "全国默认".into())
    );
    if key == weibao_store::VISIT_POLICY {
        // Every schedule under the region follows the new policy at once.
        let moved = store
            .reschedule(&Scope::system(), region)
            .await
            .map_err(|e| e.to_string())?;
        println!("已按新的探访周期重新计算，{moved} 名儿童的下次探访日期有变化");
    }
    Ok(())
}

async fn import_children(
    db: &DbArgs,
    file: &Path,
    division: &str,
    dry_run: bool,
    mapping: Option<&str>,
) -> Result<(), String> {
    let division =
        DivisionCode::parse(division).map_err(|e| format!("--division：{}", e.message))?;
    let mapping = match mapping {
        Some(m) => weibao_web::ledger_io::parse_mapping(m)
            .map_err(|e| format!("--mapping：{}", e.message))?,
        None => Default::default(),
    };
    let bytes = std::fs::read(file).map_err(|e| format!("无法读取 {}：{e}", file.display()))?;
    let store = open(db).await?;
    let started = std::time::Instant::now();
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} （{per_sec}）")
            .expect("progress template"),
    );
    let report = weibao_web::ledger_io::import_children(
        &store,
        &Scope::system(),
        division,
        &bytes,
        dry_run,
        &mapping,
        "cli",
        |stage, done, total| {
            bar.set_message(if stage == "check" { "检查" } else { "写入" });
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .await
    .map_err(|e| match e {
        weibao_web::ledger_io::ImportFailure::Sheet(s) => s.to_string(),
        weibao_web::ledger_io::ImportFailure::Store(s) => s.to_string(),
    })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "工作表“{}”，表头在第 {} 行：读取 {} 行，无误 {} 行，问题 {} 处（{:.1} 秒，{:.0} 行/秒）",
        report.sheet,
        report.header_row,
        report.rows_read,
        report.rows_good,
        report.errors.len(),
        secs,
        report.rows_read as f64 / secs.max(0.001)
    );
    println!("列的对应：");
    for c in &report.columns {
        let note = c
            .note
            .as_deref()
            .map(|n| format!("（{n}）"))
            .unwrap_or_default();
        println!("  {} 列“{}” → {}{note}", c.column, c.header, c.field_label);
    }
    for e in report.errors.iter().take(200) {
        println!("  第 {} 行 [{}]：{}", e.row, e.field, e.message);
    }
    if report.errors.len() > 200 {
        println!("  …… 另有 {} 处问题", report.errors.len() - 200);
    }
    if !report.ignored_headers.is_empty() {
        println!(
            "未识别的列（已忽略）：{}",
            report.ignored_headers.join("、")
        );
    }
    if !report.errors.is_empty() {
        return Err(if dry_run {
            "试导入发现问题，请修改后重试".into()
        } else {
            "有错误行，未导入任何记录".into()
        });
    }
    if dry_run {
        println!("试导入通过：去掉 --dry-run 即可导入");
    } else {
        println!("已导入 {} 名儿童", report.imported);
    }
    Ok(())
}

async fn serve(
    db: &DbArgs,
    bind: SocketAddr,
    demo: bool,
    public_url: Option<String>,
    trust_proxy: bool,
) -> Result<(), String> {
    let store = open(db).await?;
    if demo {
        match demo::load(&store).await? {
            Some(accounts) => print_demo_accounts(&accounts),
            None => println!("数据库中已有数据：--demo 未做任何改动"),
        }
    }
    store.optimize().await.map_err(|e| e.to_string())?;
    let periodic = store.clone();
    tokio::spawn(async move {
        // Statistics follow the data as the ledger grows between restarts.
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = periodic.optimize().await {
                tracing::warn!("planner statistics not refreshed: {e}");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("无法监听 {bind}：{e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("未保已启动：http://{addr} （{}）", store.backend().as_str());
    let state = weibao_web::AppState::new(store.clone())
        .with_public_url(public_url)
        .with_trust_proxy(trust_proxy);
    // Events, webhooks, escalation and digests (crates/web/src/workers.rs).
    weibao_web::workers::spawn(state.clone());
    let app = weibao_web::app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("服务器出错：{e}"))?;
    store.close().await;
    Ok(())
}

fn print_demo_accounts(accounts: &[demo::DemoAccount]) {
    println!(
        "已载入演示数据：四川省广元市朝天区（12 个乡镇、139 个村居，{} 名示例儿童，均为虚构）",
        demo::DEMO_CHILDREN
    );
    println!("演示账户（密码均为 {}）：", demo::DEMO_PASSWORD);
    let mut directors = 0;
    for a in accounts {
        if a.role == Role::Director {
            directors += 1;
            if directors > 3 {
                continue;
            }
        }
        println!("  {:<20} {:<8} {}", a.username, a.role.label(), a.where_);
    }
    if directors > 3 {
        println!("  …… 另有 {} 个儿童主任账户（dir-村级代码）", directors - 3);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
