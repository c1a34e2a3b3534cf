//! The `weibao` command line: serve, migrate, users, divisions, audit.

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
    },
    /// Apply pending database migrations and exit.
    Migrate,
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
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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
pub enum AuditCommand {
    /// Check every hash chain; exits non-zero and names the first bad entry.
    Verify,
}

/// Opens the store and applies migrations.
pub async fn open(db: &DbArgs) -> Result<Store, String> {
    let store = Store::open(db.database.as_deref(), &db.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// Runs a command; Err carries the message for standard error (exit code 1).
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { bind, demo } => serve(&cli.db, bind, demo).await,
        Command::Migrate => {
            let store = Store::open(cli.db.database.as_deref(), &cli.db.data_dir)
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
                },
        } => {
            let role = Role::parse(&role).map_err(|e| format!("--role：{}", e.message))?;
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
            println!(
                "已创建用户 {}（{}，{}）",
                user.username,
                user.role.label(),
                user.division.full()
            );
            Ok(())
        }
        Command::Divisions {
            command: DivisionsCommand::Import { files, under },
        } => import_divisions(&cli.db, &files, under.as_deref()).await,
        Command::Import {
            command:
                ImportCommand::Children {
                    file,
                    division,
                    dry_run,
                },
        } => import_children(&cli.db, &file, &division, dry_run).await,
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

async fn import_children(
    db: &DbArgs,
    file: &Path,
    division: &str,
    dry_run: bool,
) -> Result<(), String> {
    let division =
        DivisionCode::parse(division).map_err(|e| format!("--division：{}", e.message))?;
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

async fn serve(db: &DbArgs, bind: SocketAddr, demo: bool) -> Result<(), String> {
    let store = open(db).await?;
    if demo {
        match demo::load(&store).await? {
            Some(accounts) => print_demo_accounts(&accounts),
            None => println!("数据库中已有数据：--demo 未做任何改动"),
        }
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("无法监听 {bind}：{e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("未保已启动：http://{addr} （{}）", store.backend().as_str());
    let app = weibao_web::app(weibao_web::AppState::new(store.clone()));
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
