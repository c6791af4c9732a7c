//! Rewrites the typed-row modules of `ovn-schema` from the schema files.

fn main() {
    let files = match ovn_schema::generate() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("regenerate: {e}");
            std::process::exit(1);
        }
    };
    for (path, text) in files {
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("regenerate: {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    }
}
