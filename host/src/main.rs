fn main() {
    std::process::exit(hookmeter::cli::main());
}
