// Smoke run: load a BERT checkpoint folder with the head swap, classify one sentence pair, save, reload, compare;
// then, where the MRPC files are at hand (../shared/assets/mrpc), fine-tune it for a few steps with the Trainer.
//   dotnet run --project src/Smoke [-- <model folder> [<MRPC folder>]]
// Without a folder it uses ../shared/fixtures/pretrained-tiny when present (CI), otherwise it first writes a
// randomly initialised bert-tiny-shaped checkpoint (as HF's save_pretrained would) and loads that.
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Native;
using FineTuning.Tokenizers;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

TorchSharpNative.Load();
var folder = args.Length > 0 ? args[0] : DefaultFolder();
Console.WriteLine($"TorchSharp native libraries: {TorchSharpNative.LoadedFrom ?? "(loaded by TorchSharp)"}");
Console.WriteLine($"Model folder: {folder}\n");

// 1. The head swap, exactly as the lesson does it. HF's two warnings are printed (to stderr) here.
manual_seed(42);
using var model = AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2);
var report = model.LoadingInfo!;
long parameters = model.parameters().Sum(p => p.numel());
Console.WriteLine($"\n{model.GetType().Name}: {parameters:N0} parameters, {model.Config.NumHiddenLayers} layers, hidden {model.Config.HiddenSize}");
Console.WriteLine($"  loaded      {report.LoadedKeys.Count} tensors");
Console.WriteLine($"  dropped     {string.Join(", ", report.UnexpectedKeys)}");
Console.WriteLine($"  initialised {string.Join(", ", report.MissingKeys)}");
if (report.RenamedKeys.Count > 0) Console.WriteLine($"  renamed     {report.RenamedKeys.Count} legacy names (LayerNorm gamma/beta)");

// 2. One sentence pair, "[CLS] the cat sat on the mat . [SEP] a cat was sitting on a mat . [SEP]", as the
//    bert-base-uncased vocabulary numbers it (the tokenizer arrives with the data lesson).
long[] ids = [101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102, 1037, 4937, 2001, 3564, 2006, 1037, 13523, 1012, 102];
long[] types = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
using var inputIds = tensor(ids).unsqueeze(0);       // (1, 18)
using var tokenTypeIds = tensor(types).unsqueeze(0); // (1, 18)
using var attentionMask = ones_like(inputIds);

Tensor Logits(BertForSequenceClassification m)
{
    using var _ = no_grad();
    return m.forward(inputIds, attentionMask, tokenTypeIds).Logits.detach();
}
using var logits = Logits(model);                     // (1, 2)
using var probs = nn.functional.softmax(logits, -1);
Console.WriteLine($"\nlogits        {Format(logits)}");
Console.WriteLine($"probabilities {Format(probs)}  (the head is untrained: about 50/50 is expected)");

// 3. SavePretrained -> FromPretrained gives the same numbers.
var saved = Path.Combine(Path.GetTempPath(), $"finetuning-smoke-{Environment.ProcessId}");
model.SavePretrained(saved);
using var reloaded = AutoModelForSequenceClassification.FromPretrained(saved);
using var again = Logits(reloaded);
bool same = logits.eq(again).all().item<bool>();
// The folders below are temporary and removed at the end: their paths are not printed (they would not exist any more).
Console.WriteLine($"\nSaved ({string.Join(", ", Directory.GetFiles(saved).Select(Path.GetFileName).Order())}) and reloaded: "
    + $"logits {(same ? "identical" : "DIFFERENT")}");
Directory.Delete(saved, recursive: true);
if (!same) return 1;

// 4. Steps 4–6 of the lesson: TrainingArguments, Trainer, Train, Evaluate — a short run on part of MRPC.
var mrpc = args.Length > 1 ? args[1] : SharedFolder("assets", "mrpc");
if (mrpc is null || !File.Exists(Path.Combine(folder, "vocab.txt")))
{
    Console.WriteLine("\nNo MRPC files or vocab.txt here: skipping the fine-tuning stage.");
    return 0;
}
var tokenizer = AutoTokenizer.FromPretrained(folder);
var tokenized = Datasets.LoadDataset("glue", "mrpc", dataDir: mrpc)
    .Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true);
var output = Path.Combine(Path.GetTempPath(), $"finetuning-smoke-trainer-{Environment.ProcessId}");
var trainingArgs = new TrainingArguments
{
    OutputDir = output, NumTrainEpochs = 1, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.Epoch,
    LoggingSteps = 8, PerDeviceTrainBatchSize = 16, PerDeviceEvalBatchSize = 32,
};
var trainer = new Trainer(model, trainingArgs, tokenized["train"].Select(Enumerable.Range(0, 320)),
                          tokenized["validation"].Select(Enumerable.Range(0, 128)),
                          processingClass: tokenizer, computeMetrics: GlueMetric.For("mrpc"));
var result = trainer.Train();
Console.WriteLine($"\nTrained {result.GlobalStep} steps in {result.Metrics["train_runtime"]:F1} s, mean training loss {result.TrainingLoss:F4}");
foreach (var entry in trainer.State.LogHistory)
    Console.WriteLine("  " + string.Join(", ", entry.Select(kv => $"{kv.Key} {kv.Value:G6}")));
var checkpoint = TrainerCheckpoint.GetLastCheckpoint(output)!;
Console.WriteLine($"Checkpoint {Path.GetFileName(checkpoint)}: {string.Join(", ", Directory.GetFiles(checkpoint).Select(Path.GetFileName).Order())}");
Directory.Delete(output, recursive: true);
return 0;

static string? SharedFolder(params string[] parts)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln")))
        {
            var shared = Path.GetFullPath(Path.Combine([dir.FullName, "..", "shared", .. parts]));
            return Directory.Exists(shared) ? shared : null;
        }
    return null;
}

static string Format(Tensor t) => "[" + string.Join(", ", t.flatten().data<float>().ToArray().Select(v => v.ToString("F6"))) + "]";

static string DefaultFolder()
{
    if (SharedFolder("fixtures", "pretrained-tiny") is { } shared) return shared;
    // No fixtures (a fresh clone): make a random checkpoint of bert-tiny's shape, saved the way HF saves one.
    var folder = Path.Combine(Path.GetTempPath(), "finetuning-random-bert-tiny");
    if (!File.Exists(Path.Combine(folder, "model.safetensors")))
    {
        manual_seed(0);
        var config = new BertConfig { HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 512 };
        using var random = new BertModel(config);
        random.SavePretrained(folder);
        Console.WriteLine("No ../shared fixtures here: wrote a RANDOM bert-tiny-shaped checkpoint to load instead.");
    }
    return folder;
}
