using System.Diagnostics;
using System.Text;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using FineTuning.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// Fuzzes the loaders of the files a user hands the library: each case mutates a valid file (<see cref="Mutator"/>)
/// and loads it, and must either load — then the result must be usable — or raise the loader's documented exception
/// (<see cref="CheckpointException"/> for weights, config and tokenizer files, <see cref="DatasetFormatException"/>
/// for data). Never another exception, never a hang (each case has <see cref="CaseTimeout"/>), never a large
/// allocation (managed allocations per case are bounded; for safetensors the tensors created never exceed the file).
/// </summary>
/// <remarks>
/// Seeded and reproducible: case i of a target always makes the same file. CI runs <see cref="CiIterations"/> cases per
/// target; the full run is <c>FUZZ_ITERATIONS=10000 dotnet test tests/Helpers.Tests --filter "FullyQualifiedName~LoaderFuzzTests"</c>
/// (docs/reliability.md). <c>FUZZ_SEED</c> changes the seed; <c>FUZZ_CASE=target:i</c> replays one case.
/// </remarks>
public class LoaderFuzzTests(ITestOutputHelper output)
{
    public const int CiIterations = 2000;
    static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);
    const long MaxManagedBytesPerCase = 256L << 20;

    static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out var n) && n > 0 ? n : CiIterations;
    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : 1;

    public static TheoryData<string> Targets => new(FuzzTarget.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Every_Mutation_Loads_Or_Raises_The_Documented_Exception(string targetName)
    {
        var target = FuzzTarget.All.Single(t => t.Name == targetName);
        using var folder = new TempFolder();
        target.Setup(folder.Path);
        var (first, count) = Environment.GetEnvironmentVariable("FUZZ_CASE") is { } only && only.Split(':') is [var name, var index]
            ? name == targetName ? (int.Parse(index), 1) : (0, 0)
            : (0, Iterations);

        var failures = new List<(string Kind, string Text)>();
        var refusals = new Dictionary<string, int>();
        int loaded = 0;
        var slowest = TimeSpan.Zero;
        int slowestCase = first;
        var clock = Stopwatch.StartNew();
        for (int i = first; i < first + count; i++)
        {
            var random = new Random(unchecked(Seed * 7919 + target.Index * 1_000_003 + i));
            var log = new List<string>();
            var bytes = new Mutator(random).Mutate(target.Original, target.Kind, log);
            File.WriteAllBytes(Path.Combine(folder.Path, target.FileName), bytes);

            var started = Stopwatch.StartNew();
            var run = Task.Run(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                target.Load(folder.Path, bytes.LongLength);
                return GC.GetAllocatedBytesForCurrentThread() - before;
            });
            string Case() => $"{targetName} case {i} (FUZZ_CASE={targetName}:{i}, FUZZ_SEED={Seed}): {string.Join("; ", log)}";
            if (await Task.WhenAny(run, Task.Delay(CaseTimeout)) != run)
            {
                failures.Add(("hang", $"{Case()}: still running after {CaseTimeout.TotalSeconds:F0} s (a hang?)"));
                break; // the stuck thread keeps the file open; later cases would not be meaningful
            }
            if (started.Elapsed > slowest) (slowest, slowestCase) = (started.Elapsed, i);
            if (run.Exception?.InnerException is { } e)
            {
                if (target.Documented(e))
                    refusals[Reason(e)] = refusals.GetValueOrDefault(Reason(e)) + 1;
                else
                    failures.Add((Kind(e), $"{Case()}: {e.GetType().FullName}: {e.Message}\n{e.StackTrace}"));
            }
            else if (await run is var allocated && allocated > MaxManagedBytesPerCase)
                failures.Add(("allocation", $"{Case()}: allocated {allocated >> 20} MB for a {bytes.Length}-byte file"));
            else
                loaded++;
        }

        output.WriteLine($"{targetName}: {count} cases in {clock.Elapsed.TotalSeconds:F1} s (slowest: case {slowestCase}, {slowest.TotalMilliseconds:F0} ms): "
            + $"{loaded} loaded, {count - loaded - failures.Count} refused with {target.ExceptionName}, {failures.Count} failed");
        foreach (var (reason, n) in refusals.OrderByDescending(p => p.Value).Take(12)) output.WriteLine($"  {n,6} × {reason}");
        // One example of each kind of failure (exception type and the library frame that threw), then the count.
        var kinds = failures.GroupBy(f => f.Kind).Select(g => $"[{g.Count()} × {g.Key}] {g.First().Text}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases failed:\n" + string.Join("\n\n", kinds.Take(10)));
    }

    /// <summary>The exception type and the library frame that threw it.</summary>
    static string Kind(Exception e) =>
        $"{e.GetType().Name} {e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains(" at FineTuning.") && !l.Contains(".Tests."))?.Trim()} {(e.StackTrace?.Contains(".Tests.") == true && !e.StackTrace.Contains(" at FineTuning.Models") ? e.Message : "")}";

    /// <summary>The message without the file path and with numbers and quoted values elided: the kind of refusal.</summary>
    static string Reason(Exception e)
    {
        var message = e.Message;
        int colon = message.IndexOf(": ", StringComparison.Ordinal);
        if (colon >= 0) message = message[(colon + 2)..];
        message = System.Text.RegularExpressions.Regex.Replace(message, "'[^']*'|\"[^\"]*\"|\\d+", "_");
        return message.Length > 100 ? message[..100] : message;
    }
}

/// <summary>One file kind the fuzzer mutates: a valid original, the folder it lives in, the loader and what it may throw.</summary>
sealed record FuzzTarget(int Index, string Name, string FileName, Mutator.Kind Kind, byte[] Original, Action<string> Setup,
    Action<string, long> Load, Type Exception)
{
    public string ExceptionName => Exception.Name;

    public bool Documented(Exception e) => Exception.IsInstanceOfType(e);

    static byte[] Utf8(string text) => new UTF8Encoding(false).GetBytes(text);

    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new(0, "safetensors", "model.safetensors", Mutator.Kind.SafeTensors, SafeTensorsOriginal(), _ => { }, LoadSafeTensors, typeof(CheckpointException)),
        new(1, "config.json", "config.json", Mutator.Kind.Json, Utf8(ConfigOriginal), _ => { }, LoadConfig, typeof(CheckpointException)),
        new(2, "vocab.txt", BertTokenizer.VocabFile, Mutator.Kind.Lines, Utf8(VocabOriginal),
            folder => File.WriteAllBytes(Path.Combine(folder, BertTokenizer.TokenizerConfigFile), Utf8(TokenizerConfigOriginal)),
            LoadTokenizer, typeof(CheckpointException)),
        new(3, "tokenizer_config.json", BertTokenizer.TokenizerConfigFile, Mutator.Kind.Json, Utf8(TokenizerConfigOriginal),
            folder => File.WriteAllBytes(Path.Combine(folder, BertTokenizer.VocabFile), Utf8(VocabOriginal)),
            LoadTokenizer, typeof(CheckpointException)),
        new(4, "glue-tsv", "train.tsv", Mutator.Kind.Lines, Utf8(MrpcOriginal), _ => { }, LoadGlue, typeof(DatasetFormatException)),
        new(5, "shard-index", SafeTensorsCheckpoint.IndexName, Mutator.Kind.Json, Utf8(IndexOriginal), WriteShards, LoadFolder, typeof(CheckpointException)),
    ];

    // ---- safetensors: every dtype family, an empty tensor, a scalar -----------------------------------------------

    static byte[] SafeTensorsOriginal()
    {
        var path = Path.Combine(Path.GetTempPath(), $"finetuning-fuzz-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = arange(6, ScalarType.Float32).reshape(2, 3);
            using var b = ones(4, ScalarType.Float16);
            using var c = tensor(new long[] { 7, -7 });
            using var d = ones(1, 2, ScalarType.BFloat16);
            using var e = tensor(new byte[] { 1, 2, 3 });
            using var f = tensor(new[] { true, false });
            using var empty = zeros(0, 3);
            using var scalar = tensor(2.5);
            SafeTensorsWriter.Save(path, [("a", a), ("b", b), ("c", c), ("d", d), ("e", e), ("f", f), ("empty", empty), ("scalar", scalar)]);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    static void LoadSafeTensors(string folder, long fileBytes)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        long total = 0;
        foreach (var name in file.Names)
        {
            using var t = file.Load(name);
            total += t.numel() * t.element_size();
            if (total > fileBytes) throw new InvalidOperationException($"tensors of {total} bytes from a {fileBytes}-byte file");
        }
    }

    // ---- config.json: what HF writes for a fine-tuned BERT ----------------------------------------------------------

    static string ConfigOriginal => new BertConfig
    {
        VocabSize = 30522, HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 512,
        Architectures = ["BertForSequenceClassification"], ProblemType = "single_label_classification", TorchDtype = "float32",
        TransformersVersion = "4.26.1", ClassifierDropout = 0.1,
        Id2Label = new Dictionary<int, string> { [0] = "not_equivalent", [1] = "equivalent" },
    }.ToJson();

    static void LoadConfig(string folder, long _)
    {
        var config = BertConfig.FromFile(Path.Combine(folder, "config.json"));
        // What loads must also save, and load back to the same file (floats are written in Python's form, so 1e-400
        // in an extra field comes back as 0.0, as Python's json.loads reads it: compare the saved text).
        var saved = config.ToJson();
        var again = BertConfig.FromJson(saved, "config.json (saved again)").ToJson();
        if (again != saved) throw new InvalidOperationException($"config.json does not survive a save and a reload:\n{saved}\n{again}");
    }

    // ---- tokenizer: vocab.txt + tokenizer_config.json -----------------------------------------------------------------

    const string VocabOriginal =
        "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n,\n.\n'\nthe\ncat\nsat\non\nmat\na\nwas\nsitting\nhello\nworld\n"
        + "##s\n##ing\n##ed\nun\n##aff\n##able\n\u00e9\n\u4e2d\nrunning\nrun\n";

    const string TokenizerConfigOriginal =
        "{\n  \"cls_token\": \"[CLS]\",\n  \"do_basic_tokenize\": true,\n  \"do_lower_case\": true,\n  \"mask_token\": \"[MASK]\",\n"
        + "  \"model_max_length\": 512,\n  \"never_split\": null,\n  \"pad_token\": \"[PAD]\",\n  \"sep_token\": \"[SEP]\",\n"
        + "  \"special_tokens_map_file\": null,\n  \"strip_accents\": null,\n  \"tokenize_chinese_chars\": true,\n"
        + "  \"tokenizer_class\": \"BertTokenizer\",\n  \"unk_token\": \"[UNK]\"\n}\n";

    static void LoadTokenizer(string folder, long _)
    {
        var tokenizer = AutoTokenizer.FromPretrained(folder);
        // A tokenizer that loads must tokenize (special tokens in the text, accents, CJK, an unknown word, a long word).
        var encoding = tokenizer.Call(["Hello, world! [MASK] The cat was sitting; running \u00e9t\u00e9 \u4e2d\u6587 " + new string('x', 150)],
                                      ["unaffable [SEP] mats [CLS] [UNK] [PAD]"]);
        foreach (var id in encoding.InputIds[0])
            if (id < 0 || id >= tokenizer.Vocab.Lines.Count)
                throw new InvalidOperationException($"token id {id} is not in the vocabulary");
        tokenizer.Decode(encoding.InputIds[0]);
    }

    // ---- GLUE MRPC train.tsv --------------------------------------------------------------------------------------------

    const string MrpcOriginal =
        "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        + "1\t702876\t702977\tAmrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .\tReferring to him as only \" the witness \" , Amrozi accused his brother of deliberately distorting his evidence .\n"
        + "0\t2108705\t2108831\tYucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .\tYucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 billion in 1998 .\n"
        + "1\t1330381\t1330521\tThey had published an advertisement on the Internet on June 10 , offering the cargo for sale , he added .\tOn June 10 , the ship 's owners had published an advertisement on the Internet , offering the explosives for sale .\n"
        + "0\t3344667\t3344648\tAround 0335 GMT , Tab shares were up 19 cents , or 4.4 % , at A $ 4.56 , having earlier set a record high of A $ 4.57 .\tTab shares jumped 20 cents , or 4.6 % , to set a record closing high at A $ 4.57 .\n"
        + "1\t1236820\t1236712\tThe stock rose $ 2.11 , or about 11 percent , to close Friday at $ 21.51 on the New York Stock Exchange .\tPG & E Corp. shares jumped $ 1.63 or 8 percent to $ 21.03 on the New York Stock Exchange on Friday .\n";

    static void LoadGlue(string folder, long fileBytes)
    {
        var train = Datasets.LoadDataset("glue", "mrpc", dataDir: folder)["train"];
        for (int r = 0; r < train.Count; r++) _ = (string?)train[r]["sentence1"] + (string?)train[r]["sentence2"];
    }

    // ---- a sharded checkpoint's index (file names come from it) -------------------------------------------------------

    const string IndexOriginal =
        "{\n  \"metadata\": {\n    \"total_size\": 40\n  },\n  \"weight_map\": {\n    \"a\": \"model-00001-of-00002.safetensors\",\n"
        + "    \"b\": \"model-00002-of-00002.safetensors\"\n  }\n}\n";

    static void WriteShards(string folder)
    {
        using var a = ones(3, 2);
        using var b = zeros(4);
        SafeTensorsWriter.Save(Path.Combine(folder, "model-00001-of-00002.safetensors"), [("a", a)]);
        SafeTensorsWriter.Save(Path.Combine(folder, "model-00002-of-00002.safetensors"), [("b", b)]);
    }

    static void LoadFolder(string folder, long _)
    {
        using var checkpoint = SafeTensorsCheckpoint.OpenFolder(folder);
        foreach (var name in checkpoint.Names)
        {
            if (Path.GetDirectoryName(Path.GetFullPath(checkpoint.FileOf(name))) != Path.GetFullPath(folder).TrimEnd('/'))
                throw new InvalidOperationException($"'{name}' was read from {checkpoint.FileOf(name)}, outside {folder}");
            using var t = checkpoint.Load(name);
        }
    }
}
