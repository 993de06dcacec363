//! The tests' Schema Registry (tests/support/schema_registry.rs) as a process, for benchmarks
//! and trying the AvroConverter by hand where no real registry can be installed: prints its URL,
//! then serves until killed.
//!
//!     cargo run --release --example test_registry

#[allow(dead_code)]
#[path = "../tests/support/schema_registry.rs"]
mod schema_registry;

fn main() {
    let registry = schema_registry::schema_registry();
    println!("{}", registry.url);
    loop {
        std::thread::park();
    }
}
