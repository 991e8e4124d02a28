//! `berth`: the command-line client of berthd, speaking the Docker Engine API.

fn main() {
    berth_cli::main()
}
