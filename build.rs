// sqlx::migrate! embeds the migrations at compile time, but on stable Rust cargo does not know
// it reads them: without this a new migration file is not built in until some source changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
