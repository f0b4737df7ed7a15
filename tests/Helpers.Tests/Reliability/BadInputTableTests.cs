using System.Text;
using Encoding = System.Text.Encoding;
using System.Text.RegularExpressions;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using FineTuning.Tests.Hub;
using FineTuning.Tests.SafeTensors;
using FineTuning.Tests.Training;
using FineTuning.Tokenizers;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// The bad-input table of docs/reliability.md, row by row: each row below makes one bad input in a fresh folder and checks that the
/// user sees exactly the message the README shows (with the folder written <c>&lt;dir&gt;</c>, a line break as ↵, and
/// the end of a long message cut to " …"). A second test checks
/// that README's table and these rows agree — same ids, inputs and exception types — and prints the table to paste
/// when they do not.
/// </summary>
public class BadInputTableTests
{
    /// <summary>One row: what is wrong (README wording), the exception type, and how to produce it in a folder.</summary>
    public sealed record BadInput(string Id, string Input, Type Exception, Action<string> Act);

    /// <summary>The "error" of a row where nothing is wrong enough to stop: the input is handled and the user is told,
    /// in the one warning the row's action logs (the table shows it).</summary>
    public sealed class Warning;

    /// <summary>The finetune command line's own files, as RunData reads them: <c>train.csv</c> and <c>dev.csv</c>.</summary>
    static void FineTuneData(string dir, string train, string dev, string labelColumn = "label") =>
        FineTuning.FineTune.RunData.Load(new FineTuning.FineTune.FineTuneArguments
        {
            TrainFile = Write(dir, "train.csv", train), ValidationFile = Write(dir, "dev.csv", dev), LabelColumn = labelColumn,
        }, doTrain: true, doEval: true, doPredict: false);

    const string Mrpc = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA cat sat .\tThe cat sat .\n0\t3\t4\tIt rained .\tThe sun shone .\n";
    const string Vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n";

    static string Write(string dir, string name, string text) => WriteBytes(dir, name, new UTF8Encoding(false).GetBytes(text));

    static string WriteBytes(string dir, string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static DatasetDict Glue(string dir, string trainTsv, string task = "mrpc")
    {
        Write(dir, "train.tsv", trainTsv);
        return Datasets.LoadDataset("glue", task, dataDir: dir);
    }

    static DatasetDict Csv(string dir, string text, IReadOnlyList<string>? labelNames = null, string? labelColumn = null) =>
        Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = Write(dir, "train.csv", text) }, labelNames: labelNames, labelColumn: labelColumn);

    static DatasetDict JsonLines(string dir, string text) =>
        Datasets.LoadDataset("json", dataFiles: new() { ["train"] = Write(dir, "train.jsonl", text) });

    static BertTokenizer Tokenizer(string dir, string? vocab = Vocab, string? config = null, string? map = null)
    {
        if (vocab is not null) Write(dir, "vocab.txt", vocab);
        if (config is not null) Write(dir, "tokenizer_config.json", config);
        if (map is not null) Write(dir, "special_tokens_map.json", map);
        return AutoTokenizer.FromPretrained(dir);
    }

    /// <summary>A tiny BERT classifier saved as HF does (config.json + model.safetensors) in <c>dir/model</c>.</summary>
    static string TinyModelFolder(string dir, int labels = 2)
    {
        var folder = Path.Combine(dir, "model");
        using var model = new BertForSequenceClassification(new BertConfig
        {
            VocabSize = 24, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 32,
        }.WithNumLabels(labels));
        model.SavePretrained(folder);
        return folder;
    }

    static string Config(string dir, string json) => Write(dir, "model/config.json", json);

    static void SafeTensors(string dir, string header, int dataBytes, ulong? claimedHeaderLength = null)
    {
        Directory.CreateDirectory(Path.Combine(dir, "model"));
        RawSafeTensors.Write(Path.Combine(dir, "model", "model.safetensors"), header, new byte[dataBytes], claimedHeaderLength);
        SafeTensorsCheckpoint.OpenFolder(Path.Combine(dir, "model"));
    }

    static void ShardIndex(string dir, string shard)
    {
        TinyModelFolder(dir);
        var model = Path.Combine(dir, "model");
        File.Move(Path.Combine(model, "model.safetensors"), Path.Combine(model, "model-00001-of-00001.safetensors"));
        Write(dir, "model/model.safetensors.index.json",
            "{\"metadata\": {\"total_size\": 4}, \"weight_map\": {\"classifier.bias\": " + System.Text.Json.JsonSerializer.Serialize(shard) + "}}");
        SafeTensorsCheckpoint.OpenFolder(model);
    }

    static Trainer TinyTrainer(string outputDir, TrainingArguments? args = null, int maxSteps = 2) =>
        new(TinyTraining.Model(seed: 1), args ?? TinyTraining.Args(outputDir) with { MaxSteps = maxSteps }, TinyTraining.MarkerTask(16, seed: 1));

    static TrainingArguments Args(string dir) => new() { OutputDir = Path.Combine(dir, "out") };

    /// <summary>A two-step run with a checkpoint at step 2 in <c>dir/out</c>; returns the checkpoint folder.</summary>
    static string Checkpoint(string dir)
    {
        var args = TinyTraining.Args(Path.Combine(dir, "out")) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        TinyTrainer(args.OutputDir, args).Train();
        return Path.Combine(args.OutputDir, "checkpoint-2");
    }

    static void Resume(string dir)
    {
        var args = TinyTraining.Args(Path.Combine(dir, "out")) with { MaxSteps = 4 };
        TinyTrainer(args.OutputDir, args).Train(resumeFromCheckpoint: true);
    }

    /// <summary>The tiny model's config.json edited: <paramref name="field"/> set to <paramref name="value"/>.</summary>
    static string EditedConfig(string dir, string field, long value)
    {
        var folder = TinyModelFolder(dir);
        var path = Path.Combine(folder, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[field] = value;
        File.WriteAllText(path, json.ToJsonString());
        return folder;
    }

    // ---- the Hub: a stand-in Hub on 127.0.0.1 for each row, the cache in <dir>/hub -----------------------------------

    const string HubModel = "org/tiny";
    const string HubToken = "hf_TableRowToken";
    static readonly byte[] HubWeights = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();

    /// <summary>org/tiny on a fresh stand-in Hub — config.json, vocab.txt and (unless <paramref name="weights"/> is
    /// false) model.safetensors, plus <paramref name="extra"/> files — then <paramref name="act"/> with test settings.</summary>
    static void OnHub(string dir, Action<StandInHub, StandInHub.Repo, HubSettings> act, bool weights = true,
                      Dictionary<string, byte[]>? extra = null)
    {
        using var hub = new StandInHub();
        var files = new Dictionary<string, byte[]>(extra ?? [])
        {
            ["config.json"] = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\", \"vocab_size\": 24, \"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 64}"),
            ["vocab.txt"] = Encoding.UTF8.GetBytes(Vocab),
        };
        if (weights) files["model.safetensors"] = HubWeights;
        var repo = hub.AddRepo(HubModel, files: files);
        act(hub, repo, HubTestSettings.For(hub, dir));
    }

    /// <summary>Settings as <see cref="HubSettings.FromEnvironment()"/> reads them from these variables (and the cache in <c>dir/hub</c>).</summary>
    static HubSettings FromEnvironment(string dir, params (string Name, string Value)[] variables)
    {
        var env = variables.ToDictionary(v => v.Name, v => v.Value);
        env.TryAdd("HF_HUB_CACHE", Path.Combine(dir, "hub"));
        env.TryAdd("HF_HUB_DISABLE_PROGRESS_BARS", "1");
        return HubSettings.FromEnvironment(name => env.GetValueOrDefault(name));
    }

    /// <summary>Runs <paramref name="act"/>; when it throws, runs <paramref name="check"/> (assertions about what was left
    /// behind) and then lets the exception go on.</summary>
    static void ThenCheck(Action act, Action check)
    {
        try
        {
            act();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            check();
            throw;
        }
    }

    public static IReadOnlyList<BadInput> Rows { get; } =
    [
        // ---- data -------------------------------------------------------------------------------------------------
        new("D1", "GLUE TSV: a row with fewer fields than the header", typeof(DatasetFormatException),
            d => Glue(d, Mrpc + "1\t5\t6\tOnly one sentence .\n")),
        new("D2", "GLUE TSV saved with commas instead of tabs", typeof(DatasetFormatException),
            d => Glue(d, Mrpc.Replace('\t', ','))),
        new("D3", "GLUE label that is not a class (`Quality` 7)", typeof(DatasetFormatException),
            d => Glue(d, Mrpc + "7\t5\t6\tA .\tB .\n")),
        new("D4", "GLUE TSV that is not UTF-8 (Latin-1 é)", typeof(DatasetFormatException),
            d => { WriteBytes(d, "train.tsv", [.. Encoding.UTF8.GetBytes(Mrpc), .. "1\t5\t6\tCaf"u8, 0xE9, .. "\tB .\n"u8]); Datasets.LoadDataset("glue", "mrpc", dataDir: d); }),
        new("D5", "GLUE TSV that is empty", typeof(DatasetFormatException), d => Glue(d, "")),
        new("D6", "STS-B score that is not a number", typeof(DatasetFormatException),
            d => Glue(d, "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\t2012\t0\ts\ts\tA .\tB .\tfive\n", "stsb")),
        new("D7", "GLUE folder without the task's files", typeof(FileNotFoundException),
            d => Datasets.LoadDataset("glue", "mrpc", dataDir: d)),
        new("D8", "GLUE data folder that does not exist", typeof(DirectoryNotFoundException),
            d => Datasets.LoadDataset("glue", "mrpc", dataDir: Path.Combine(d, "missing"))),
        new("D9", "Unknown GLUE task name", typeof(ArgumentException), d => Datasets.LoadDataset("glue", "mrcp", dataDir: d)),
        new("D10", "CSV: a quoted field that is never closed", typeof(DatasetFormatException), d => Csv(d, "text,label\n\"unclosed,1\n")),
        new("D11", "CSV: text after a closing quote", typeof(DatasetFormatException), d => Csv(d, "text,label\n\"a\"b,1\n")),
        new("D12", "CSV: a header column without a name", typeof(DatasetFormatException), d => Csv(d, "text,,label\na,b,1\n")),
        new("D13", "CSV: a header naming a column twice", typeof(DatasetFormatException), d => Csv(d, "text,text\na,b\n")),
        new("D14", "CSV: a row with more fields than the header", typeof(DatasetFormatException), d => Csv(d, "text,label\na,1,extra\n")),
        new("D15", "CSV: a label that is not among `labelNames`", typeof(DatasetFormatException),
            d => Csv(d, "text,label\na,positive\nb,neutral\n", labelNames: ["negative", "positive"])),
        new("D16", "CSV: `labelColumn` that the file does not have", typeof(DatasetFormatException),
            d => Csv(d, "text,score\na,1\n", labelColumn: "label")),
        new("D17", "JSON lines: a line that is not JSON", typeof(DatasetFormatException), d => JsonLines(d, "{\"text\": \"a\"}\n{text: b}\n")),
        new("D18", "JSON lines: a line that is an array, not an object", typeof(DatasetFormatException), d => JsonLines(d, "[1, 2]\n")),
        new("D19", "JSON lines: a string with a lone surrogate escape (`\\ud800`)", typeof(DatasetFormatException),
            d => JsonLines(d, "{\"text\": \"a\\ud800\"}\n")),
        new("D20", "A data file that does not exist", typeof(FileNotFoundException),
            d => Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = Path.Combine(d, "missing.csv") })),
        new("D21", "A file that is not parquet, loaded as parquet", typeof(DatasetFormatException),
            d => Datasets.LoadDataset("parquet", dataFiles: new() { ["train"] = Write(d, "train.parquet", "text,label\n") })),
        new("D22", "Removing a column the dataset does not have", typeof(KeyNotFoundException),
            d => Glue(d, Mrpc)["train"].RemoveColumns("sentence")),
        new("D23", "finetune's CSV: a label cell that is empty (it used to become id -1: libtorch's `Target -1 is out of bounds` after training)", typeof(DatasetFormatException),
            d => FineTuneData(d, "text,label\ngood,pos\nbad,neg\n", "text,label\ngood,pos\nso-so,\n")),
        new("D24", "finetune's JSON lines: a line without the label key", typeof(DatasetFormatException),
            d => FineTuning.FineTune.RunData.Load(new FineTuning.FineTune.FineTuneArguments
            {
                TrainFile = Write(d, "train.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\"}\n"),
            }, doTrain: true, doEval: false, doPredict: false)),
        new("D25", "finetune's CSV: a regression label that is NaN or infinite", typeof(DatasetFormatException),
            d => FineTuneData(d, "text,score\na,0.5\nb,Infinity\n", "text,score\na,1.5\n", labelColumn: "score")),
        new("D26", "Parquet ClassLabel value out of range", typeof(DatasetFormatException),
            d => Datasets.LoadDataset("parquet", dataFiles: new()
            {
                ["train"] = FineTuning.Tests.Data.DatasetLoadingTests.WriteMrpcParquet(Path.Combine(d, "train.parquet"), ["a", "b"], ["x", "y"], [1, 2], [0, 1], hfMetadata: true),
            })),
        new("D27", "STS-B score that is NaN", typeof(DatasetFormatException),
            d => Glue(d, "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\t2012\t0\ts\ts\tA .\tB .\tnan\n", "stsb")),

        // ---- tokenizer ----------------------------------------------------------------------------------------------
        new("T1", "Tokenizer folder that does not exist", typeof(CheckpointException), d => AutoTokenizer.FromPretrained(Path.Combine(d, "missing"))),
        new("T2", "Folder without vocab.txt, tokenizer_config.json or config.json", typeof(CheckpointException), d => Tokenizer(d, vocab: null)),
        new("T3", "vocab.txt that is empty", typeof(CheckpointException), d => Tokenizer(d, vocab: "")),
        new("T4", "vocab.txt that is not UTF-8", typeof(CheckpointException),
            d => { WriteBytes(d, "vocab.txt", [.. Encoding.UTF8.GetBytes(Vocab), 0xE9, (byte)'\n']); Tokenizer(d, vocab: null, config: "{}"); }),
        new("T5", "vocab.txt without `[UNK]`", typeof(CheckpointException), d => Tokenizer(d, vocab: Vocab.Replace("[UNK]\n", ""))),
        new("T6", "tokenizer_config.json that is not JSON", typeof(CheckpointException), d => Tokenizer(d, config: "{\"do_lower_case\": tru}")),
        new("T7", "tokenizer_config.json that is not UTF-8", typeof(CheckpointException),
            d => { WriteBytes(d, "tokenizer_config.json", [.. "{\"unk_token\": \"[UNK"u8, 0xFF, .. "]\"}"u8]); Tokenizer(d); }),
        new("T8", "`do_lower_case` that is a string", typeof(CheckpointException), d => Tokenizer(d, config: "{\"do_lower_case\": \"yes\"}")),
        new("T9", "`model_max_length` that is negative", typeof(CheckpointException), d => Tokenizer(d, config: "{\"model_max_length\": -1e30}")),
        new("T10", "`tokenizer_class` that is not BERT's", typeof(CheckpointException), d => Tokenizer(d, config: "{\"tokenizer_class\": \"GPT2Tokenizer\"}")),
        new("T11", "special_tokens_map.json with a number for a token", typeof(CheckpointException), d => Tokenizer(d, config: "{}", map: "{\"pad_token\": 0}")),
        new("T12", "A special token the vocabulary lacks (`unk_token` `<unk>`)", typeof(CheckpointException),
            d => Tokenizer(d, config: "{\"unk_token\": \"<unk>\"}")),
        new("T13", "Pairs and texts of different lengths", typeof(ArgumentException), d => Tokenizer(d, config: "{}").Call(["a", "b"], ["c"])),
        new("T14", "vocab.txt with more tokens than the model's `vocab_size` (it used to fail in the first forward pass)", typeof(ArgumentException),
            d => new Trainer(TinyTraining.Model(), Args(d), processingClass: Tokenizer(d, vocab: Vocab + string.Concat(Enumerable.Range(0, 20).Select(i => $"w{i}\n"))))),
        new("T15", "vocab.txt saved with a byte-order mark", typeof(Warning),
            d => { WriteBytes(d, "vocab.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Vocab)]); Tokenizer(d, vocab: null, config: "{}"); }),
        new("T16", "Truncating to fewer places than the special tokens (`maxLength: 2` for a pair)", typeof(ArgumentOutOfRangeException),
            d => Tokenizer(d, config: "{}").Call(["the cat"], ["the cat"], maxLength: 2, truncation: true)),

        // ---- model files --------------------------------------------------------------------------------------------
        new("M1", "Model folder that does not exist", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(Path.Combine(d, "missing"))),
        new("M2", "Model folder without config.json", typeof(CheckpointException),
            d => { File.Delete(Path.Combine(TinyModelFolder(d), "config.json")); AutoModelForSequenceClassification.FromPretrained(Path.Combine(d, "model")); }),
        new("M3", "Only PyTorch pickle weights (`pytorch_model.bin`)", typeof(CheckpointException),
            d => { var m = TinyModelFolder(d); File.Move(Path.Combine(m, "model.safetensors"), Path.Combine(m, "pytorch_model.bin")); AutoModelForSequenceClassification.FromPretrained(m); }),
        new("M4", "config.json that is not JSON", typeof(CheckpointException), d => BertConfig.FromFile(Config(d, "{\"hidden_size\": 128,}"))),
        new("M5", "config.json field of the wrong type", typeof(CheckpointException), d => BertConfig.FromFile(Config(d, "{\"hidden_size\": \"128\"}"))),
        new("M6", "`hidden_size` not a multiple of `num_attention_heads`", typeof(CheckpointException),
            d => BertConfig.FromFile(Config(d, "{\"model_type\": \"bert\", \"hidden_size\": 100, \"num_attention_heads\": 12}"))),
        new("M7", "`model_type` that is not BERT", typeof(CheckpointException), d => BertConfig.FromFile(Config(d, "{\"model_type\": \"gpt2\"}"))),
        new("M8", "`hidden_act` that is not supported", typeof(CheckpointException), d => BertConfig.FromFile(Config(d, "{\"model_type\": \"bert\", \"hidden_act\": \"mish\"}"))),
        new("M9", "`pad_token_id` outside the vocabulary", typeof(CheckpointException),
            d => BertConfig.FromFile(Config(d, "{\"model_type\": \"bert\", \"vocab_size\": 100, \"pad_token_id\": 100}"))),
        new("M10", "`id2label` with a gap in its ids", typeof(CheckpointException),
            d => BertConfig.FromFile(Config(d, "{\"model_type\": \"bert\", \"id2label\": {\"0\": \"a\", \"2\": \"c\"}}"))),
        new("M11", "config.json string with a lone surrogate escape (`\\ud800`)", typeof(CheckpointException),
            d => BertConfig.FromFile(Config(d, "{\"architectures\": [\"Bert\\ud800\"]}"))),
        new("M12", "model.safetensors of 3 bytes", typeof(CheckpointException),
            d => { WriteBytes(d, "model/model.safetensors", [1, 2, 3]); SafeTensorsCheckpoint.OpenFolder(Path.Combine(d, "model")); }),
        new("M13", "safetensors header length claiming 10^12 bytes", typeof(CheckpointException),
            d => SafeTensors(d, "{}", 0, claimedHeaderLength: 1_000_000_000_000)),
        new("M14", "safetensors file cut short (data past the end)", typeof(CheckpointException),
            d => SafeTensors(d, """{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8)),
        new("M15", "safetensors header that is not JSON", typeof(CheckpointException), d => SafeTensors(d, "{\"w\": [}", 0)),
        new("M16", "safetensors tensor of an unknown dtype", typeof(CheckpointException),
            d => SafeTensors(d, """{"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}""", 16)),
        new("M17", "safetensors tensors whose bytes overlap", typeof(CheckpointException),
            d => SafeTensors(d, """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12)),
        new("M18", "safetensors shape that does not match its byte span", typeof(CheckpointException),
            d => SafeTensors(d, """{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", 8)),
        new("M19", "safetensors empty tensor whose strides overflow (`[0, 2^62, 2^62]`)", typeof(CheckpointException),
            d => SafeTensors(d, """{"w": {"dtype": "F32", "shape": [0, 4611686018427387904, 4611686018427387904], "data_offsets": [0, 0]}}""", 0)),
        new("M20", "Shard index naming a file outside the folder (`../../etc/passwd`)", typeof(CheckpointException), d => ShardIndex(d, "../../etc/passwd")),
        new("M21", "Shard index naming an absolute path", typeof(CheckpointException), d => ShardIndex(d, "/etc/passwd")),
        new("M22", "Shard index naming a shard that is not there", typeof(CheckpointException), d => ShardIndex(d, "model-00002-of-00002.safetensors")),
        new("M23", "A 3-label checkpoint loaded with `numLabels: 2`", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(TinyModelFolder(d, labels: 3), numLabels: 2, id2label: null)),
        new("M24", "`numLabels` that disagrees with `id2label`", typeof(ArgumentException),
            d => AutoModelForSequenceClassification.FromPretrained(TinyModelFolder(d), numLabels: 3, id2label: new Dictionary<int, string> { [0] = "no", [1] = "yes" })),
        new("M25", "config.json `vocab_size` 10^9 beside a checkpoint of 24 tokens (refused before anything is allocated)", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(EditedConfig(d, "vocab_size", 1_000_000_000))),
        new("M26", "config.json `hidden_size` 10^9 beside a checkpoint of hidden size 32", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(EditedConfig(d, "hidden_size", 1_000_000_000))),
        new("M27", "config.json `vocab_size` 10^12 (past a 32-bit integer)", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(EditedConfig(d, "vocab_size", 1_000_000_000_000))),
        new("M28", "config.json `num_hidden_layers` 2^31 - 1 (layers the checkpoint lacks: a model too big for memory)", typeof(CheckpointException),
            d => AutoModelForSequenceClassification.FromPretrained(EditedConfig(d, "num_hidden_layers", int.MaxValue))),
        new("M29", "`vocab_size` 2^31 - 1 with `ignoreMismatchedSizes: true` (256 GiB of weights; here on a machine with 16 GiB)", typeof(CheckpointException),
            d =>
            {
                using var limit = BertWeightShapes.LimitMemoryForTests(16L << 30);
                AutoModelForSequenceClassification.FromPretrained(EditedConfig(d, "vocab_size", int.MaxValue), ignoreMismatchedSizes: true);
            }),
        new("M30", "A `BertConfig` in code whose model cannot fit in memory (10^9 layers)", typeof(ArgumentException),
            d => new BertForSequenceClassification(new BertConfig { NumHiddenLayers = 1_000_000_000 })),

        // ---- training and checkpoints ---------------------------------------------------------------------------------
        new("C1", "`Train(resumeFromCheckpoint: true)` without any checkpoint", typeof(ArgumentException), Resume),
        new("C2", "Resuming from a checkpoint folder that does not exist", typeof(CheckpointException),
            d => TinyTrainer(Path.Combine(d, "out")).Train(resumeFromCheckpoint: Path.Combine(d, "out", "checkpoint-9"))),
        new("C3", "Resuming a Python checkpoint (`optimizer.pt`, a pickle)", typeof(CheckpointException),
            d => { var c = Checkpoint(d); File.Move(Path.Combine(c, "optimizer.safetensors"), Path.Combine(c, "optimizer.pt")); Resume(d); }),
        new("C4", "A checkpoint without scheduler.json", typeof(CheckpointException),
            d => { File.Delete(Path.Combine(Checkpoint(d), "scheduler.json")); Resume(d); }),
        new("C5", "trainer_state.json that is not JSON", typeof(CheckpointException),
            d => { Write(d, "out/checkpoint-2/trainer_state.json", "{\"global_step\": 2,"); Resume(d); }),
        new("C6", "A checkpoint of another model (extra weights)", typeof(CheckpointException),
            d => { var c = Checkpoint(d); using var w = ones(1); SafeTensorsWriter.Save(Path.Combine(c, "model.safetensors"), [("extra.weight", w)]); Resume(d); }),
        new("C7", "A second Trainer on an output directory in use", typeof(IOException),
            d => { using var held = OutputDirLock.Acquire(Path.Combine(d, "out")); TinyTrainer(Path.Combine(d, "out")).Train(); }),
        new("C8", "An output directory that is a file", typeof(IOException), d => TinyTrainer(Write(d, "out", "")).Train()),
        new("C9", "The disk fills up while a checkpoint is written", typeof(TrainingException),
            d =>
            {
                using var disk = new FailingDisk(p => p.Contains("/.checkpoint-2."), afterBytes: 100);
                var args = TinyTraining.Args(Path.Combine(d, "out")) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1 };
                TinyTrainer(args.OutputDir, args).Train();
            }),
        new("C10", "Training without a `labels` column", typeof(InvalidOperationException),
            d => new Trainer(TinyTraining.Model(), TinyTraining.Args(Path.Combine(d, "out")) with { MaxSteps = 1 },
                             TinyTraining.MarkerTask(8, seed: 1).RemoveColumns("label")).Train()),
        new("C11", "An eval strategy without an eval dataset", typeof(ArgumentException),
            d => new Trainer(TinyTraining.Model(), Args(d) with { EvalStrategy = IntervalStrategy.Epoch }, TinyTraining.MarkerTask(8, seed: 1))),
        new("C12", "trainer_state.json with a negative `global_step`", typeof(CheckpointException),
            d => { var c = Checkpoint(d); var p = Path.Combine(c, "trainer_state.json"); File.WriteAllText(p, File.ReadAllText(p).Replace("\"global_step\": 2", "\"global_step\": -2")); Resume(d); }),
        new("C13", "The disk fills up while the final model is saved (`SaveModel`)", typeof(TrainingException),
            d =>
            {
                var trainer = new Trainer(TinyTraining.Model(), TinyTraining.Args(Path.Combine(d, "out")), processingClass: Tokenizer(d));
                using var disk = new FailingDisk(p => p.Contains("/.saved-model.") && p.Contains("vocab"), afterBytes: 10);
                ThenCheck(() => trainer.SaveModel(), () => Assert.Empty(Directory.GetFiles(Path.Combine(d, "out"), "*.safetensors")));
            }),
        new("C14", "Training data with a label of -1 (a missing label) or past the classes", typeof(ArgumentException),
            d => new Trainer(TinyTraining.Model(), TinyTraining.Args(Path.Combine(d, "out")) with { MaxSteps = 1 },
                             TinyTraining.MarkerTask(8, seed: 1).Map(_ => new Dictionary<string, System.Collections.IList> { ["label"] = new List<long> { 0, 1, 0, -1, 1, 0, 1, 0 } }, batched: true, batchSize: 0)).Train()),
        new("C15", "Running a finished run again (`max_steps` mid-epoch, resumed)", typeof(Warning),
            d => { var args = TinyTraining.Args(Path.Combine(d, "out")) with { MaxSteps = 3, SaveStrategy = SaveStrategy.Steps, SaveSteps = 3 };
                   TinyTrainer(args.OutputDir, args).Train(); TinyTrainer(args.OutputDir, args).Train(resumeFromCheckpoint: true); }),
        new("C16", "A stale checkpoint of another run in OutputDir, with `SaveTotalLimit`", typeof(Warning),
            d => { Directory.CreateDirectory(Path.Combine(d, "out", "checkpoint-7"));
                   TinyTrainer(Path.Combine(d, "out"), TinyTraining.Args(Path.Combine(d, "out")) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1, SaveTotalLimit = 1 }).Train(); }),

        // ---- the Hub ------------------------------------------------------------------------------------------------------
        new("H1", "Hub id that is not a valid repository id (`bert base uncased`)", typeof(CheckpointException),
            d => OnHub(d, (hub, repo, s) => AutoModelForSequenceClassification.FromPretrained("bert base uncased", hub: s))),
        new("H2", "Hub model id that does not exist (401 RepoNotFound)", typeof(RepositoryNotFoundException),
            d => OnHub(d, (hub, repo, s) => AutoModelForSequenceClassification.FromPretrained("org/does-not-exist", hub: s))),
        new("H3", "Private or gated model without a token (401)", typeof(RepositoryNotFoundException),
            d => OnHub(d, (hub, repo, s) => { repo.RequiredToken = HubToken; AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s); })),
        new("H4", "Private model with a token that gives no access (401)", typeof(RepositoryNotFoundException),
            d => OnHub(d, (hub, repo, s) => { repo.RequiredToken = HubToken; AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s with { Token = "hf_OtherToken" }); })),
        new("H5", "Gated model the token's account was not granted (403 GatedRepo)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => { repo.Gated = true; AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s with { Token = HubToken }); })),
        new("H6", "Hub revision that does not exist (404 RevisionNotFound)", typeof(RevisionNotFoundException),
            d => OnHub(d, (hub, repo, s) => AutoModelForSequenceClassification.FromPretrained(HubModel, revision: "v9", hub: s))),
        new("H7", "`HF_HUB_OFFLINE=1` and the weights were never downloaded (config.json was)", typeof(LocalEntryNotFoundException),
            d => OnHub(d, (hub, repo, s) =>
            {
                AutoConfig.FromPretrained(HubModel, hub: s);
                AutoModelForSequenceClassification.FromPretrained(HubModel, hub: FromEnvironment(d, ("HF_HUB_OFFLINE", "1"), ("HF_ENDPOINT", hub.Endpoint)));
            })),
        new("H8", "Hub unreachable (connection refused) and nothing cached", typeof(LocalEntryNotFoundException),
            d => OnHub(d, (hub, repo, s) => { hub.Stop(); AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s); })),
        new("H9", "Hub answering 500 to every retry", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => { hub.FailNext("/resolve/", 500, times: 100); AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s); })),
        new("H10", "Download whose sha256 is not the Hub's (nothing is kept in the cache)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) =>
            {
                hub.CorruptNext("/cdn/");
                ThenCheck(() => FileDownload.HfHubDownload(HubModel, "model.safetensors", settings: s), () =>
                {
                    Assert.Empty(Directory.GetFiles(Path.Combine(s.HubCache, "models--org--tiny", "blobs")));
                    Assert.False(Directory.Exists(Path.Combine(s.HubCache, "models--org--tiny", "snapshots")));
                });
            })),
        new("H11", "File name that leaves the repository (`../../etc/passwd`)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => FileDownload.HfHubDownload(HubModel, "../../etc/passwd", settings: s))),
        new("H12", "Shard index from the Hub naming a file outside the snapshot", typeof(CheckpointException),
            d => OnHub(d, (hub, repo, s) => ThenCheck(() => AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s),
                                                       () => Assert.Empty(hub.RequestsTo("escaped"))),
                       weights: false, extra: new()
                       {
                           ["model.safetensors.index.json"] = Encoding.UTF8.GetBytes("{\"metadata\": {}, \"weight_map\": {\"a.weight\": \"../../../../escaped.safetensors\"}}"),
                       })),
        new("H13", "Hub sending a hostile commit hash (`X-Repo-Commit: ../../escaped`)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => { repo.CommitHeader = "../../escaped"; FileDownload.HfHubDownload(HubModel, "config.json", settings: s); })),
        new("H14", "`HF_ENDPOINT` that answers without `X-Repo-Commit` (not a Hub)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => { repo.SendsCommitHeader = false; FileDownload.HfHubDownload(HubModel, "config.json", settings: s); })),
        new("H15", "Hub repository with only pickle weights (`pytorch_model.bin`)", typeof(CheckpointException),
            d => OnHub(d, (hub, repo, s) => ThenCheck(() => AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s),
                                                       () => Assert.Empty(hub.RequestsTo("/cdn/"))),
                       weights: false, extra: new() { ["pytorch_model.bin"] = [0x80, 0x02] })),
        new("H16", "Hub repository with config.json but no weights", typeof(EntryNotFoundException),
            d => OnHub(d, (hub, repo, s) => AutoModelForSequenceClassification.FromPretrained(HubModel, hub: s), weights: false)),
        new("H17", "GLUE task the Hub's glue repository does not have", typeof(EntryNotFoundException),
            d => OnHub(d, (hub, repo, s) =>
            {
                hub.AddRepo("nyu-mll/glue", RepoType.Dataset, files: new Dictionary<string, byte[]> { ["README.md"] = "---\n"u8.ToArray() });
                Datasets.LoadDataset("nyu-mll/glue", "rte", hub: s);
            })),
        new("H18", "`HF_ENDPOINT` that is not an http(s) address", typeof(ArgumentException),
            d => FromEnvironment(d, ("HF_ENDPOINT", "huggingface.co"))),
        new("H19", "`HF_HUB_DOWNLOAD_TIMEOUT` that is not a number of seconds", typeof(ArgumentException),
            d => FromEnvironment(d, ("HF_HUB_DOWNLOAD_TIMEOUT", "ten"))),
        new("H20", "Hub `X-Linked-Size` larger than the file the CDN serves (416 at its end; it used to download forever)", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => { repo.ClaimedSizes["model.safetensors"] = 1_000_000_000_000_000; FileDownload.HfHubDownload(HubModel, "model.safetensors", settings: s); })),
        new("H21", "A server that trickles bytes (100 every 20 ms) without closing", typeof(HubException),
            // 128 KiB at <= 100 bytes per >= 20 ms takes >= 26 s: the 1 s stall window ends first whatever the machine's load.
            d => OnHub(d, (hub, repo, s) => { hub.TrickleNext("/cdn/", 100, TimeSpan.FromMilliseconds(20)); FileDownload.HfHubDownload(HubModel, "model.safetensors", settings: s with { DownloadStallTimeout = TimeSpan.FromSeconds(1) }); },
                       weights: false, extra: new() { ["model.safetensors"] = new byte[128 << 10] })),
        new("H22", "`HF_ENDPOINT` with a user and password, Hub unreachable (the password is never shown)", typeof(LocalEntryNotFoundException),
            d => OnHub(d, (hub, repo, s) => { hub.Stop(); FileDownload.HfHubDownload(HubModel, "config.json", settings: s with { Endpoint = $"http://user:secret@127.0.0.1:{hub.Port}" }); })),
        new("H23", "A token with a non-ASCII character", typeof(HubException),
            d => OnHub(d, (hub, repo, s) => FileDownload.HfHubDownload(HubModel, "config.json", settings: s with { Token = "hf_abc\u00e9" }))),
        new("H24", "A Hub that answers too slowly (every retry times out)", typeof(LocalEntryNotFoundException),
            d => OnHub(d, (hub, repo, s) => { hub.StallNext("/resolve/", TimeSpan.FromSeconds(3), times: 100, method: "HEAD");
                FileDownload.HfHubDownload(HubModel, "config.json", settings: s with { EtagTimeout = TimeSpan.FromMilliseconds(300), MaxRetries = 1 }); })),

        // ---- arguments ---------------------------------------------------------------------------------------------------
        new("A1", "A negative learning rate", typeof(ArgumentException), d => (Args(d) with { LearningRate = -1e-5 }).Validate()),
        new("A2", "A batch size of 0", typeof(ArgumentException), d => (Args(d) with { PerDeviceTrainBatchSize = 0 }).Validate()),
        new("A3", "Gradient accumulation of 0 steps", typeof(ArgumentException), d => (Args(d) with { GradientAccumulationSteps = 0 }).Validate()),
        new("A4", "Both `Fp16` and `Bf16`", typeof(ArgumentException), d => (Args(d) with { Fp16 = true, Bf16 = true }).Validate()),
        new("A5", "A warmup ratio above 1", typeof(ArgumentException), d => (Args(d) with { WarmupRatio = 1.5 }).Validate()),
        new("A6", "`LoadBestModelAtEnd` with different eval and save strategies", typeof(ArgumentException),
            d => (Args(d) with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.Steps }).Validate()),
        new("A7", "An optimizer this library does not have", typeof(ArgumentException), d => (Args(d) with { Optim = "adafactor" }).Validate()),
        new("A8", "A GLUE metric for an unknown task", typeof(ArgumentException), d => GlueMetric.For("mrcp")),
        new("A9", "Tokenizing with `maxLength: 0`", typeof(ArgumentOutOfRangeException), d => Tokenizer(d, config: "{}").Call(["a"], maxLength: 0, truncation: true)),
    ];

    public static TheoryData<string> Ids => new(Rows.Select(r => r.Id));

    [Theory]
    [MemberData(nameof(Ids))]
    public void Each_Bad_Input_Raises_The_Exception_And_Message_The_Readme_Shows(string id)
    {
        var row = Rows.Single(r => r.Id == id);
        var readme = ReadmeTable().SingleOrDefault(r => r.Id == id)
            ?? throw new Xunit.Sdk.XunitException($"docs/reliability.md's bad-input table has no row {id}");
        var (type, message) = Run(row);
        Assert.Equal(row.Exception, type);
        if (readme.Message.EndsWith(" …", StringComparison.Ordinal))
            Assert.StartsWith(readme.Message[..^2], message);
        else
            Assert.Equal(readme.Message, message);
    }

    [Fact]
    public void The_Readme_Table_Lists_Exactly_These_Rows_And_Has_At_Least_40()
    {
        var readme = ReadmeTable();
        var expected = Rows.Select(r => (r.Id, r.Input, r.Exception.Name)).ToList();
        var actual = readme.Select(r => (r.Id, r.Input, r.Exception)).ToList();
        if (!expected.SequenceEqual(actual))
            throw new Xunit.Sdk.XunitException("docs/reliability.md's bad-input table and BadInputTableTests.Rows disagree. The table to paste:\n\n" + MarkdownTable());
        Assert.True(Rows.Count >= 40, $"{Rows.Count} rows");
        Assert.Equal(Rows.Count, Rows.Select(r => r.Id).Distinct().Count());
    }

    /// <summary>Runs a row in a fresh folder; returns the exception's type and its message with the folder as &lt;dir&gt;.</summary>
    static (Type Type, string Message) Run(BadInput row)
    {
        using var dir = new TempFolder();
        var (level, writer) = (Logging.Verbosity, Logging.Writer);
        var warnings = new StringWriter();
        (Logging.Verbosity, Logging.Writer) = (row.Exception == typeof(Warning) ? LogLevel.Warning : LogLevel.Error, warnings);
        try
        {
            row.Act(dir.Path);
        }
        catch (Exception e)
        {
            return (e.GetType(), Normalize(e.Message, dir.Path));
        }
        finally
        {
            (Logging.Verbosity, Logging.Writer) = (level, writer);
        }
        if (row.Exception == typeof(Warning) && warnings.ToString().Trim() is { Length: > 0 } logged)
        {
            var lines = logged.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length != 1) throw new Xunit.Sdk.XunitException($"{row.Id} ({row.Input}) logged {lines.Length} warnings, not one:\n{logged}");
            return (typeof(Warning), Normalize(lines[0], dir.Path));
        }
        throw new Xunit.Sdk.XunitException($"{row.Id} ({row.Input}) raised nothing");
    }

    static string Normalize(string message, string dir)
    {
        message = message.Replace(dir, "<dir>");
        message = Regex.Replace(message, @"\b[0-9a-f]{64}\b", "<sha256>");
        message = Regex.Replace(message, @"\b[0-9a-f]{40}\b", "<commit>");
        message = Regex.Replace(message, "[0-9a-f]{32}", "<guid>");
        message = Regex.Replace(message, @"process \d+ on [^,]+, since [0-9: -]+ UTC", "process <pid> on <host>, since <time> UTC");
        message = Regex.Replace(message, @"http://127\.0\.0\.1:\d+", "<hub>");
        message = Regex.Replace(message, @"@127\.0\.0\.1:\d+", "@<host>");
        message = Regex.Replace(message, @"more than the [0-9.,]+ [GT]iB of memory", "more than the <memory> of memory");
        return message.Replace("\r", "").Replace("\n", " ↵ ").Replace("\t", "");
    }

    // ---- the README side ---------------------------------------------------------------------------------------------

    public sealed record ReadmeRow(string Id, string Input, string Exception, string Message);

    const string Start = "<!-- bad-input-table:start -->";
    const string End = "<!-- bad-input-table:end -->";

    static List<ReadmeRow> ReadmeTable()
    {
        var readme = Path.Combine(RepoRoot(), "docs", "reliability.md");
        var text = File.ReadAllText(readme);
        int start = text.IndexOf(Start, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        if (start < 0 || end < start) return [];
        var rows = new List<ReadmeRow>();
        foreach (var line in text[(start + Start.Length)..end].Split('\n').Select(l => l.Trim()))
        {
            if (!line.StartsWith("| ") || line.StartsWith("| #") || line.StartsWith("|---")) continue;
            var cells = Regex.Split(line.Trim('|'), @"(?<!\\)\|").Select(c => c.Trim().Replace("\\|", "|")).ToArray();
            rows.Add(new ReadmeRow(cells[0], cells[1], Unquote(cells[2]), Unquote(cells[3])));
        }
        return rows;
    }

    static string Unquote(string cell) => cell.StartsWith("`` ") ? cell[3..^3] : cell.StartsWith('`') ? cell[1..^1] : cell;

    /// <summary>The table as README should show it, from running every row.</summary>
    static string MarkdownTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine(Start);
        sb.AppendLine("| # | bad input | error | what you see |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var row in Rows)
        {
            string message;
            try { message = Run(row).Message; }
            catch (Exception e) { message = $"(failed: {e.Message})"; }
            if (message.Length > 420) message = message[..400].TrimEnd() + " …";
            sb.AppendLine($"| {row.Id} | {row.Input.Replace("|", "\\|")} | `{row.Exception.Name}` | {Quote(message.Replace("|", "\\|"))} |");
        }
        sb.AppendLine(End);
        return sb.ToString();
    }

    static string Quote(string text) => text.Contains('`') ? $"`` {text} ``" : $"`{text}`";

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new Xunit.Sdk.XunitException("repository root (Helpers.sln) not found above " + AppContext.BaseDirectory);
    }
}
