// Smoke run: load a BERT checkpoint folder with the head swap, classify one sentence pair, save, reload, compare.
//   dotnet run --project src/Smoke [-- <model folder>]
// Without a folder it uses ../shared/fixtures/pretrained-tiny when present (CI), otherwise it first writes a
// randomly initialised bert-tiny-shaped checkpoint (as HF's save_pretrained would) and loads that.
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Native;
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
Console.WriteLine($"\nSaved to {saved} and reloaded: logits {(same ? "identical" : "DIFFERENT")}");
Directory.Delete(saved, recursive: true);
return same ? 0 : 1;

static string Format(Tensor t) => "[" + string.Join(", ", t.flatten().data<float>().ToArray().Select(v => v.ToString("F6"))) + "]";

static string DefaultFolder()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln")))
        {
            var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures", "pretrained-tiny"));
            if (Directory.Exists(shared)) return shared;
            break;
        }
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
