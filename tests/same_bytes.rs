//! Same bytes as the real Kafka Connect 4.3.0 worker: the connector files, worker file and odd
//! inputs in tests/fixtures/reference/same-bytes/ were run through the real worker (its
//! make-golden.sh); kconnect runs the very same files on Tansu here and must write the same
//! topic bytes (JsonConverter escaping, FileStreamSource line ends) and the same sink text
//! (Java `toString` of schemaless values: HashMap order, Java's number forms).

mod support;

use std::path::{Path, PathBuf};

use support::{output_text, write};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/reference/same-bytes"
);

/// A committed template with its placeholders filled in for this run.
fn instantiate(dir: &Path, template: &Path, run: &str, bootstrap: &str) -> PathBuf {
    let text = std::fs::read_to_string(template).unwrap();
    let text = text
        .replace("@DIR@", &dir.display().to_string())
        .replace("@RUN@", run)
        .replace("@BOOTSTRAP@", bootstrap)
        .replace("@REST_PORT@", &support::free_port().to_string());
    write(dir, template.file_name().unwrap().to_str().unwrap(), &text)
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(GOLDEN).join("expected").join(name)).unwrap()
}

/// Shows both sides line by line (escaped) when they differ, instead of two byte blobs.
fn assert_same_lines(what: &str, ours: &[u8], real: &[u8]) {
    if ours == real {
        return;
    }
    let split = |b: &[u8]| -> Vec<String> {
        b.split(|c| *c == b'\n')
            .map(|l| String::from_utf8_lossy(l).escape_debug().to_string())
            .collect()
    };
    let (o, r) = (split(ours), split(real));
    for (i, (a, b)) in o.iter().zip(&r).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: line {} differs from the real worker's",
            i + 1
        );
    }
    assert_eq!(o.len(), r.len(), "{what}: line counts differ");
    panic!("{what}: bytes differ from the real worker's");
}

#[test]
fn file_to_kafka_to_file_writes_what_the_real_worker_writes() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for input in ["lines.txt", "values.jsonl"] {
        std::fs::copy(Path::new(GOLDEN).join("input").join(input), dir.join(input)).unwrap();
    }
    let run = "golden";
    let worker = instantiate(
        dir,
        &Path::new(GOLDEN).join("worker.properties"),
        run,
        &k.bootstrap(),
    );
    let conn = |name: &str| {
        instantiate(
            dir,
            &Path::new(GOLDEN).join("connectors").join(name),
            run,
            &k.bootstrap(),
        )
    };
    let sources = [conn("lines-src.json"), conn("values-src.json")];
    let sinks = [
        conn("lines-raw-sink.json"),
        conn("lines-text-sink.json"),
        conn("values-sink.json"),
    ];
    // Sources first, so the sinks' --once runs find every record already on the topics.
    for files in [&sources[..], &sinks[..]] {
        let o = support::kconnect::once(dir, &k.bootstrap(), "offsets", files)
            .arg("--worker")
            .arg(&worker)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", output_text(&o));
    }

    // The topic itself: every value byte for byte, no key, as the real worker produced it.
    let msgs = support::kafka::consume_all(&k.bootstrap(), &format!("{run}-lines"));
    let mut topic = Vec::new();
    for m in &msgs {
        assert_eq!(m.key, None, "FileStreamSource records have no key");
        topic.extend_from_slice(m.value.as_deref().unwrap());
        topic.push(b'\n');
    }
    let real = golden("lines-topic.txt");
    assert_same_lines("topic …-lines", &topic, &real);
    for (file, what) in [
        (
            "lines-topic.txt",
            "the topic's bytes through StringConverter",
        ),
        ("lines-out.txt", "lines read back with JsonConverter"),
        ("values-out.txt", "schemaless values' Java toString"),
    ] {
        let ours = std::fs::read(dir.join(file)).unwrap();
        assert_same_lines(what, &ours, &golden(file));
    }
}

/// Connect's Java producer (sticky partitioner) fills one partition with a batch of records
/// without a key before moving on (KIP-480/794: after `batch.size`, 16 KB, to it); records
/// spread one by one over partitions reach a consumer in another order than Connect's did.
#[test]
fn null_key_records_of_a_batch_share_one_partition() {
    let k = support::tansu();
    let d = tempfile::tempdir().unwrap();
    let topic = "keyless";
    support::kafka::create_topic(&k.bootstrap(), topic, 4);
    // 150 records of about 70 bytes each: about 10 KB, under one 16 KB Java batch.
    let input = write(d.path(), "in.txt", &support::file_pipeline::lines(0..150));
    let src = support::file_pipeline::source_conf(d.path(), "keyless-src", &input, topic);
    let o = support::kconnect::once(d.path(), &k.bootstrap(), "offsets", [&src])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", output_text(&o));
    let msgs = support::kafka::consume_all(&k.bootstrap(), topic);
    assert_eq!(msgs.len(), 150);
    let partitions: std::collections::BTreeSet<i32> = msgs.iter().map(|m| m.partition).collect();
    assert_eq!(
        partitions.len(),
        1,
        "one batch of null-key records went to partitions {partitions:?}"
    );
}
