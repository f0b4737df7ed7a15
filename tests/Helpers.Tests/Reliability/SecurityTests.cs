using System.Text.RegularExpressions;
using FineTuning.Models;
using FineTuning.SafeTensors;
using FineTuning.Tests.Training;
using FineTuning.Tokenizers;
using FineTuning.Training;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// Nothing is ever unpickled (no code path can deserialise a pickle or a .NET binary-formatter stream; pickle files
/// are refused with the way to convert them), and file names read from configs never reach outside their folder.
/// </summary>
public class SecurityTests
{
    /// <summary>APIs that deserialise pickles (TorchSharp.PyBridge, Razorvine.Pickle) or arbitrary .NET object graphs.</summary>
    static readonly Regex Deserialisers = new(
        @"\b(BinaryFormatter|NetDataContractSerializer|SoapFormatter|LosFormatter|ObjectStateFormatter|Unpickler|PyBridge|Razorvine|load_py|TypeNameHandling)\b"
        + @"|\btorch\.load\s*\(|\.load_state_dict_from_pickle|\bpickle\.loads?\b",
        RegexOptions.CultureInvariant);

    [Fact]
    public void No_Source_File_Or_Package_Can_Deserialise_A_Pickle()
    {
        var root = RepoRoot();
        var offenders = new List<string>();
        int scanned = 0;
        foreach (var folder in new[] { "src", "tools" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
                var lines = File.ReadAllLines(file);
                scanned++;
                for (int i = 0; i < lines.Length; i++)
                {
                    var code = lines[i].Split("//")[0]; // comments may say "never unpickled"
                    if (Deserialisers.IsMatch(code)) offenders.Add($"{Path.GetRelativePath(root, file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        foreach (var file in Directory.EnumerateFiles(root, "*.*proj", SearchOption.AllDirectories).Append(Path.Combine(root, "Directory.Packages.props")))
            foreach (Match m in Regex.Matches(File.ReadAllText(file), @"Include=""([^""]+)"""))
                if (Regex.IsMatch(m.Groups[1].Value, "PyBridge|Pickle|Razorvine", RegexOptions.IgnoreCase))
                    offenders.Add($"{Path.GetRelativePath(root, file)}: package {m.Groups[1].Value}");
        Assert.True(scanned > 50, $"only {scanned} source files found under {root}");
        Assert.True(offenders.Count == 0, "deserialisers found:\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("pytorch_model.bin")]
    [InlineData("pytorch_model.bin.index.json")]
    public void Pickle_Weights_Are_Refused_With_The_Conversion_Command_Never_Opened(string name)
    {
        using var folder = new TempFolder();
        folder.Write("config.json", """{"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 64}""");
        var pickle = folder.WriteBytes(name, [0x80, 0x02, (byte)'c', (byte)'o', (byte)'s', (byte)'\n', (byte)'s', (byte)'y', (byte)'s', (byte)'t', (byte)'e', (byte)'m']);

        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder.Path));

        Assert.Equal(pickle, e.FilePath);
        Assert.Contains("only PyTorch pickle weights found; this library never executes pickle (it can run arbitrary code). Convert once in Python: "
            + $"from transformers import AutoModel; AutoModel.from_pretrained(\"{folder.Path}\").save_pretrained(\"{folder.Path}\", safe_serialization=True)", e.Message);
    }

    [FixtureFact("fixtures", "tiny-random-bert", "pytorch_model.bin")]
    public void A_Real_Transformers_Pickle_Checkpoint_Is_Refused()
    {
        var folder = SharedFixtures.Path("fixtures", "tiny-random-bert");
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder));
        Assert.Equal(Path.Combine(folder, "pytorch_model.bin"), e.FilePath);
        Assert.Contains("never executes pickle", e.Message);
    }

    [Fact]
    public void A_Python_Checkpoints_Pickled_State_Is_Refused_Or_Skipped_Never_Read()
    {
        using var folder = new TempFolder();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        using (var model = TinyTraining.Model(seed: 1)) new Trainer(model, args, TinyTraining.MarkerTask(16, seed: 1)).Train();
        var checkpoint = Path.Combine(folder.Path, "checkpoint-2");
        // HF's pickled RNG state instead of ours: skipped with HF's own warning (the run is then not bit-reproducible).
        File.Move(Path.Combine(checkpoint, TrainerCheckpoint.RngStateName), Path.Combine(checkpoint, "rng_state.pth"));
        var log = new StringWriter();
        var (writer, level) = (Logging.Writer, Logging.Verbosity);
        (Logging.Writer, Logging.Verbosity) = (log, LogLevel.Info);
        try
        {
            using var model = TinyTraining.Model(seed: 1);
            Assert.Equal(3, new Trainer(model, args with { MaxSteps = 3 }, TinyTraining.MarkerTask(16, seed: 1)).Train(resumeFromCheckpoint: true).GlobalStep);
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, level);
        }
        Assert.Contains($"Didn't find an RNG file at {Path.Combine(checkpoint, TrainerCheckpoint.RngStateName)}", log.ToString());
        // HF's pickled optimizer: refused (BadInputTableTests C3).
    }

    [Theory]
    [InlineData("../model.safetensors")]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/model-00001-of-00001.safetensors")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    public void Shard_Names_From_The_Index_Never_Leave_The_Model_Folder(string shard)
    {
        using var outer = new TempFolder();
        // A valid safetensors file where each of those names would land, so only the name check can refuse them.
        using var t = TorchSharp.torch.ones(1);
        SafeTensorsWriter.Save(outer.File("model.safetensors"), [("w", t)]);
        var folder = Path.Combine(outer.Path, "model");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        SafeTensorsWriter.Save(Path.Combine(folder, "sub", "model-00001-of-00001.safetensors"), [("w", t)]);
        var index = outer.Write(Path.Combine("model", SafeTensorsCheckpoint.IndexName),
            "{\"weight_map\": {\"w\": " + System.Text.Json.JsonSerializer.Serialize(shard) + "}}");

        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(folder));

        Assert.Equal(index, e.FilePath);
        Assert.Equal($"{index}: tensor 'w': shard '{shard}' is not a plain file name in the model folder", e.Message);
    }

    [Fact]
    public void A_Vocab_File_Named_In_Tokenizer_Config_Is_Ignored_Only_The_Folders_Vocab_Txt_Is_Read()
    {
        using var outside = new TempFolder();
        outside.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nsecret\n");
        using var folder = new TempFolder();
        folder.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
        folder.Write("tokenizer_config.json", $$"""{"tokenizer_class": "BertTokenizer", "vocab_file": {{System.Text.Json.JsonSerializer.Serialize(outside.File("vocab.txt"))}}}""");

        var tokenizer = AutoTokenizer.FromPretrained(folder.Path);

        Assert.True(tokenizer.Vocab.TryGetId("hello", out _));
        Assert.False(tokenizer.Vocab.TryGetId("secret", out _));
    }

    [Fact]
    public void A_Best_Model_Path_In_Trainer_State_Is_Not_Followed_Only_The_Checkpoint_Of_That_Step_Beside_It()
    {
        using var folder = new TempFolder();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1 };
        using (var model = TinyTraining.Model(seed: 1)) new Trainer(model, args, TinyTraining.MarkerTask(16, seed: 1)).Train();
        var statePath = Path.Combine(folder.Path, "checkpoint-2", TrainerCheckpoint.TrainerStateName);
        using var elsewhere = new TempFolder();
        foreach (var (bestStep, bestPath, expected) in new (int?, string, string?)[]
                 {
                     (null, Path.Combine(elsewhere.Path, "checkpoint-1"), Path.Combine(folder.Path, "checkpoint-1")), // moved folder: step 1 here
                     (null, "/etc", null),                                                                            // no checkpoint-N: none
                     (1, "/etc/checkpoint-1", Path.Combine(folder.Path, "checkpoint-1")),                             // best_global_step wins
                     (7, Path.Combine(folder.Path, "checkpoint-7"), null),                                            // not there: none
                 })
        {
            var state = TrainerState.LoadFromJson(statePath);
            state.BestGlobalStep = bestStep;
            state.BestModelCheckpoint = bestPath;
            Assert.Equal(expected, TrainerCheckpoint.BestCheckpointIn(folder.Path, state));
        }
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new Xunit.Sdk.XunitException("repository root not found");
    }
}
