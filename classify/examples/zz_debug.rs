use classify::local::*;
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");
fn main() {
    let dev = read_jsonl(format!("{CORPUS}/dev.jsonl")).unwrap();
    let opts = TrainOptions::default();
    let folds = stratified_folds(&dev, 5, opts.seed);
    let mut conf = [[0; 5]; 5];
    for f in 0..5 {
        let train: Vec<Example> = dev.iter().zip(&folds).filter(|(_, x)| **x != f).map(|(e, _)| e.clone()).collect();
        let m = LocalModel::train(&train, &opts);
        for (e, x) in dev.iter().zip(&folds) {
            if *x != f { continue; }
            let p = m.predict(&e.text);
            let gi = KINDS.iter().position(|k| *k == e.kind).unwrap();
            let pi = KINDS.iter().position(|k| *k == p.kind).unwrap();
            conf[gi][pi] += 1;
            if e.kind != p.kind {
                println!("{:?}->{:?} {:.2} | {}", e.kind, p.kind, p.kind_confidence, e.text.chars().take(160).collect::<String>().replace('\n', " | "));
            }
        }
    }
    println!("{conf:?}");
}
