using FineTuning.Data;
using FineTuning.Tokenizers;

namespace FineTuning.Benchmarks;

/// <summary>MRPC from the shared assets, loaded and tokenized once (HF: tokenizer(s1, s2, truncation=True)).</summary>
public sealed class Mrpc
{
    public Mrpc(string shared)
    {
        var folder = Path.Combine(shared, "assets", "mrpc");
        var vocab = Path.Combine(shared, "assets", "bert-tiny");
        if (!File.Exists(Path.Combine(folder, "train.tsv"))) throw new FileNotFoundException($"MRPC train.tsv not found in {folder} (pass --shared)");
        Raw = Datasets.LoadDataset("glue", "mrpc", dataDir: folder);
        Tokenizer = AutoTokenizer.FromPretrained(vocab);
        Train = Raw["train"].Map(b => Tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true, maxLength: 512), batched: true)
                            .RemoveColumns("sentence1", "sentence2", "idx");
        Lengths = Train.Column<int[]>("input_ids").Select(ids => ids.Length).ToArray();
    }

    public DatasetDict Raw { get; }
    public BertTokenizer Tokenizer { get; }
    /// <summary>The tokenized training split: input_ids, token_type_ids, attention_mask, label.</summary>
    public Dataset Train { get; }
    /// <summary>Tokens of each training example.</summary>
    public int[] Lengths { get; }
}
