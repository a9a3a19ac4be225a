//! The chaos suite in its small configuration, as CI runs it: `remotehunt bench chaos` over
//! real NATS (and a three-node cluster), Postgres and the fake Bot API and LLM, every scenario
//! against a fault-free run. The full configuration is the benchmark command
//! (`remotehunt bench chaos`, defaults: 120 posts, 60 subscribers).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_remotehunt");
const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/pool.jsonl"
);

#[test]
fn under_every_fault_nothing_is_lost_duplicated_or_extra() {
    // given 30 real posts and 16 subscribers, each scenario's fault played on a run of its own
    // when the suite runs
    let output = Command::new(BIN)
        .args(["bench", "chaos", "--posts", "30", "--subscribers", "16"])
        .args(["--corpus", CORPUS])
        .output()
        .expect("running remotehunt bench chaos");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    // then every scenario is clean, and each proved its fault hit
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scenario in [
        "kill-all",
        "kill-nats",
        "kill-node",
        "kill-postgres",
        "bot-429",
        "bot-5xx",
        "bot-timeouts",
        "bot-403",
        "llm-faults",
        "two-copies",
    ] {
        let line = report
            .lines()
            .find(|line| line.starts_with(scenario))
            .unwrap_or_else(|| panic!("no line for {scenario}:\n{report}"));
        assert!(line.contains(" 0 lost, 0 duplicated, 0 extra"), "{line}");
    }
    assert!(report.contains("faults served: 40 Bot API"), "{report}");
    assert!(
        report.contains("faults served: 0 Bot API, 8 LLM"),
        "{report}"
    );
    assert!(report.contains("SIGKILL pid"), "{report}");
    assert!(report.contains("DELIVERIES leader n"), "{report}");
}
