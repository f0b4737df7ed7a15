using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Data;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Tests.Hub;
using FineTuning.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Interop;

/// <summary>The commands of the interop tool; each writes JSON that interop.py compares with what Python computes.</summary>
public static class Commands
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Our logits for the batch in <paramref name="idsJson"/> (<c>input_ids</c>, <c>attention_mask</c>,
    /// <c>token_type_ids</c>: equal-length int rows), the model in eval mode, fp32: <c>{"logits": [[...]]}</c>.</summary>
    public static int Logits(string modelFolder, string idsJson, string outJson)
    {
        var batch = JsonNode.Parse(File.ReadAllText(idsJson))!.AsObject();
        using var scope = NewDisposeScope();
        using var model = AutoModelForSequenceClassification.FromPretrained(modelFolder);
        model.eval();
        using var _ = no_grad();
        var output = model.forward(Ids(batch, "input_ids"), Ids(batch, "attention_mask"), Ids(batch, "token_type_ids"));
        var logits = output.Logits.to_type(ScalarType.Float32).contiguous();   // [batch, num_labels]
        var values = logits.data<float>().ToArray();
        int rows = (int)logits.shape[0], cols = (int)logits.shape[1];
        var json = new JsonObject
        {
            ["logits"] = new JsonArray(Enumerable.Range(0, rows)
                .Select(r => (JsonNode)new JsonArray(values.Skip(r * cols).Take(cols).Select(v => (JsonNode)JsonValue.Create((double)v)!).ToArray()))
                .ToArray()),
        };
        AtomicFile.WriteAllText(outJson, json.ToJsonString(Indented));
        return 0;
    }

    static Tensor Ids(JsonObject batch, string name)
    {
        var rows = batch[name]!.AsArray().Select(r => r!.AsArray().Select(v => (long)v!).ToArray()).ToArray();
        return tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length], ScalarType.Int64);
    }

    /// <summary><c>from_pretrained</c> then <c>save_pretrained</c>, model and tokenizer; a new classification head
    /// (torch seed 42) when <paramref name="numLabels"/> is given for a checkpoint without one.</summary>
    public static int Save(string modelFolder, string outFolder, int? numLabels)
    {
        torch.manual_seed(42);
        using var model = AutoModelForSequenceClassification.FromPretrained(modelFolder, numLabels);
        model.SavePretrained(outFolder);
        AutoTokenizer.FromPretrained(modelFolder).SavePretrained(outFolder);
        Console.WriteLine($"saved {outFolder}: {string.Join(", ", Directory.GetFiles(outFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal))}");
        return 0;
    }

    /// <summary>GLUE MRPC's train and dev pairs (our loader), each through our BertTokenizer without truncation: one
    /// JSON line per pair with the split, idx, both sentences and the ids.</summary>
    public static int Tokenize(string modelFolder, string mrpcFolder, string outJsonl)
    {
        var tokenizer = AutoTokenizer.FromPretrained(modelFolder);
        var mrpc = Datasets.LoadDataset("glue", "mrpc", dataDir: mrpcFolder);
        using var lines = new StringWriter();
        int pairs = 0;
        foreach (var split in new[] { "train", "validation" })
        {
            var data = mrpc[split];
            for (int i = 0; i < data.Count; i++)
            {
                var row = data[i];
                var (s1, s2) = ((string)row["sentence1"]!, (string)row["sentence2"]!);
                var encoding = tokenizer.Encode(s1, s2);
                var line = new JsonObject
                {
                    ["split"] = split, ["idx"] = Convert.ToInt64(row["idx"]), ["sentence1"] = s1, ["sentence2"] = s2,
                    ["input_ids"] = new JsonArray(encoding.InputIds.Select(v => (JsonNode)v).ToArray()),
                    ["token_type_ids"] = new JsonArray(encoding.TokenTypeIds.Select(v => (JsonNode)v).ToArray()),
                };
                lines.Write(line.ToJsonString());
                lines.Write('\n');
                pairs++;
            }
        }
        AtomicFile.WriteAllText(outJsonl, lines.ToString());
        Console.WriteLine($"tokenized {pairs} MRPC pairs (train + validation) -> {outJsonl}");
        return 0;
    }

    /// <summary>Serves the model folder's files as the Hub repository <c>interop-org/{folder name}</c> on the loopback
    /// stand-in Hub, then fetches every file with <see cref="FileDownload.HfHubDownload"/> and loads the model by its
    /// id, all into <paramref name="cacheFolder"/>; writes the repo id, commit and each file's cached path.</summary>
    public static int Hub(string modelFolder, string cacheFolder, string outJson)
    {
        using var hub = new StandInHub();
        var repoId = "interop-org/" + new DirectoryInfo(modelFolder).Name.ToLowerInvariant();
        var repo = hub.AddRepo(repoId, folder: modelFolder);
        var settings = new HubSettings { Endpoint = hub.Endpoint, HubCache = Path.GetFullPath(cacheFolder) };
        var files = new JsonObject();
        foreach (var name in repo.Files.Keys.Order(StringComparer.Ordinal))
            files[name] = FileDownload.HfHubDownload(repoId, name, settings: settings);
        // The loader's own path through the cache (config, weights), as a user's FromPretrained("org/name") takes it.
        using (var model = AutoModelForSequenceClassification.FromPretrained(repoId, hub: settings)) { }
        var json = new JsonObject
        {
            ["repo_id"] = repoId, ["commit"] = repo.Commit, ["cache_dir"] = settings.HubCache, ["files"] = files,
            ["sizes"] = new JsonObject(repo.Files.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value.Size))),
        };
        AtomicFile.WriteAllText(outJson, json.ToJsonString(Indented));
        Console.WriteLine($"cached {files.Count} files of {repoId} at {repo.Commit} in {settings.HubCache}");
        return 0;
    }
}
