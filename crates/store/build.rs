//! Rebuild when a migration changes: `embed_migrations!` reads the SQL files at compile time,
//! and cargo does not see them as inputs otherwise.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
