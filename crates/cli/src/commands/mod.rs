//! The command line: docker's commands, flags and help texts, and the dispatch to one module
//! per command.

pub mod attach;
pub mod container_opts;
pub mod create;
pub mod events;
pub mod exec;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod lifecycle;
pub mod load;
pub mod login;
pub mod logs;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod save;
pub mod start;
pub mod stats;
pub mod tag;
pub mod top;
pub mod update;
pub mod version;
pub mod wait;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::error::Exit;
use berth_api::filters::Filters;
use berth_client::{resolve_host, Client};

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Daemon socket to connect to (default: $BERTH_HOST, $DOCKER_HOST, or
    /// unix:///run/berth/berth.sock)
    #[arg(short = 'H', long = "host", global = true, value_name = "host")]
    pub host: Option<String>,

    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Create a new container
    Create(create::CreateArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::ContainersArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::ContainersArgs),
    /// Remove one or more containers
    Rm(rm::RmArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(wait::WaitArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Return low-level information on berth objects
    Inspect(inspect::InspectArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Get real time events from the server
    Events(events::EventsArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// List images
    Images(images::ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Remove one or more images
    Rmi(rmi::RmiArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(load::LoadArgs),
    /// Authenticate to a registry
    Login(login::LoginArgs),
    /// Log out from a registry
    Logout(login::LogoutArgs),
    /// Show the berth version information
    Version(version::VersionArgs),
    /// Display system-wide information
    Info(info::InfoArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
}

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Create a new container
    Create(create::CreateArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::ContainerInspectArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(ps::PsArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::ContainersArgs),
    /// Remove all stopped containers
    Prune(prune::ContainerPruneArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::ContainersArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(wait::WaitArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::ImageInspectArgs),
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(rmi::RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(load::LoadArgs),
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Get real time events from the server
    Events(events::EventsArgs),
    /// Display system-wide information
    Info(info::InfoArgs),
}

/// Runs the parsed command line; returns the process exit code.
pub async fn dispatch(cli: Cli) -> Result<i32> {
    let host = resolve_host(cli.host.as_deref());
    if cli.version {
        outln!("berth version {}", env!("CARGO_PKG_VERSION"));
        return Ok(0);
    }
    let Some(command) = cli.command else {
        return Ok(0);
    };
    // `version` prints its client half even when the daemon is down.
    if let Command::Version(args) = &command {
        return version::run(&host, args).await;
    }
    if let Command::Info(args) | Command::System(SystemCommand::Info(args)) = &command {
        return info::run(&host, args).await;
    }
    // `logout` only edits the credential store.
    if let Command::Logout(args) = command {
        return login::logout(args).await;
    }
    // The image positional takes hyphen values (for the command after it), so an unknown
    // flag before the image lands there: refuse it as docker's flag parser would.
    let opts = match &command {
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => Some(("run", &a.opts)),
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            Some(("create", &a.opts))
        }
        _ => None,
    };
    if let Some((name, o)) = opts {
        if let Some(flag) = o.args.first().filter(|a| a.starts_with('-') && a.len() > 1) {
            return Err(create::usage_error(name, &format!("unknown flag: {flag}")));
        }
    }
    let connect = Client::connect(&host).await.map_err(anyhow::Error::from);
    // `run`/`create` report every daemon failure with status 125.
    let is_run = matches!(
        command,
        Command::Run(_)
            | Command::Create(_)
            | Command::Container(ContainerCommand::Run(_))
            | Command::Container(ContainerCommand::Create(_))
    );
    let client = match connect {
        Ok(c) => c,
        Err(e) if is_run => {
            return Err(Exit::new(125, format!("berth: {e}")).into());
        }
        Err(e) => return Err(e),
    };
    let c = &client;
    match command {
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => run::run(c, a).await,
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            create::run(c, a).await
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            start::run(c, a).await
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => {
            lifecycle::stop(c, a).await
        }
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            lifecycle::restart(c, a).await
        }
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => {
            lifecycle::kill(c, a).await
        }
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            lifecycle::pause(c, a).await
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            lifecycle::unpause(c, a).await
        }
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => rm::run(c, a).await,
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            lifecycle::rename(c, a).await
        }
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => wait::run(c, a).await,
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => ps::run(c, a).await,
        Command::Container(ContainerCommand::Prune(a)) => prune::containers(c, a).await,
        Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => {
            update::run(c, a).await
        }
        Command::Inspect(a) => inspect::run(c, a).await,
        Command::Container(ContainerCommand::Inspect(a)) => inspect::run_container(c, a).await,
        Command::Image(ImageCommand::Inspect(a)) => inspect::run_image(c, a).await,
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => logs::run(c, a).await,
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            attach::run(c, a).await
        }
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => exec::run(c, a).await,
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => top::run(c, a).await,
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => {
            stats::run(c, a).await
        }
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => events::run(c, a).await,
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(c, a).await,
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::run(c, a).await,
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(c, a).await,
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(c, a).await,
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(c, a).await,
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(c, a).await,
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(c, a).await,
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(c, a).await,
        Command::Login(a) => login::login(c, a).await,
        Command::Version(_)
        | Command::Info(_)
        | Command::System(SystemCommand::Info(_))
        | Command::Logout(_) => Ok(0),
    }
}

/// Prints per-item errors the way docker's `errors.Join` does and turns them into exit 1.
pub fn finish(errors: Vec<String>) -> Result<i32> {
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(Exit::new(1, errors.join("\n")).into())
    }
}

/// Parses `--filter k=v` flags into docker's filters.
pub fn filters(flags: &[String]) -> Result<Filters> {
    Filters::from_flags(flags).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_encode_like_docker() {
        let f = filters(&["status=running".into(), "label=a=b".into()]).unwrap();
        assert_eq!(
            f.to_json(),
            r#"{"label":{"a=b":true},"status":{"running":true}}"#
        );
        assert!(filters(&["nope".into()]).is_err());
        assert!(filters(&[]).unwrap().is_empty());
    }

    #[test]
    fn cli_parses_run_flags_before_and_after_image() {
        let cli = Cli::try_parse_from([
            "berth",
            "run",
            "-it",
            "--rm",
            "-e",
            "A=1",
            "busybox",
            "sh",
            "-c",
            "echo -n hi",
        ])
        .unwrap();
        let Some(Command::Run(a)) = cli.command else {
            panic!("not run")
        };
        assert!(a.opts.interactive && a.opts.tty && a.opts.rm);
        assert_eq!(a.opts.args, vec!["busybox", "sh", "-c", "echo -n hi"]);
        // Flags after the image belong to the command.
        let cli = Cli::try_parse_from(["berth", "run", "busybox", "ls", "-d", "-h"]).unwrap();
        let Some(Command::Run(a)) = cli.command else {
            panic!("not run")
        };
        assert!(!a.detach);
        assert_eq!(a.opts.args, vec!["busybox", "ls", "-d", "-h"]);
        // -h is the hostname for run.
        let cli = Cli::try_parse_from(["berth", "run", "-h", "box", "busybox"]).unwrap();
        let Some(Command::Run(a)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(a.opts.hostname.as_deref(), Some("box"));
    }

    #[test]
    fn management_aliases() {
        for argv in [
            vec!["berth", "container", "ls", "-a"],
            vec!["berth", "container", "ps"],
            vec!["berth", "container", "list"],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert!(matches!(
                cli.command,
                Some(Command::Container(ContainerCommand::Ls(_)))
            ));
        }
        let cli = Cli::try_parse_from(["berth", "image", "rm", "-f", "x"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Image(ImageCommand::Rm(_)))
        ));
        let cli = Cli::try_parse_from(["berth", "container", "remove", "x"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Container(ContainerCommand::Rm(_)))
        ));
        let cli = Cli::try_parse_from(["berth", "exec", "-it", "c", "sh", "-c", "ls -l"]).unwrap();
        let Some(Command::Exec(a)) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(a.container, "c");
        assert_eq!(a.command, vec!["sh", "-c", "ls -l"]);
    }

    #[test]
    fn run_help_mentions_default_network() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").unwrap();
        let help = run.render_long_help().to_string();
        assert!(help.contains("default network is none"), "{help}");
    }
}
