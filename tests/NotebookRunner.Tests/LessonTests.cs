using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuning.Tests;
using static FineTuning.NotebookRunner.Tests.InlineNotebook;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>
/// Every lesson in notebooks/ executed by the runner's program in the real .NET Interactive kernel, on the CPU with
/// CI's knobs (the tiny fixture model, the shared MRPC files, 64 training and 32 validation pairs, 2 epochs): no cell
/// may fail, and the outputs the lessons promise must be there. .ci/run runs the lessons once for its log and points
/// FT_LESSONS_RUN at that run; without it, the tests run them here.
/// </summary>
public class LessonTests
{
    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static TheoryData<string> Lessons => new(Directory.GetFiles(Path.Combine(FindRepoRoot(), "notebooks"), "*.ipynb")
        .Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    sealed record Run(int ExitCode, string Log, string OutputDirectory);

    /// <summary>One runner process for all lessons (one kernel per notebook), shared by the tests.</summary>
    static readonly Lazy<Run> AllLessons = new(() =>
    {
        // .ci/run's run of the main job (same knobs): its executed notebooks, log and exit code.
        if (Environment.GetEnvironmentVariable("FT_LESSONS_RUN") is { Length: > 0 } done)
        {
            var code = File.Exists(Path.Combine(done, "exit-code")) ? int.Parse(File.ReadAllText(Path.Combine(done, "exit-code")).Trim()) : -1;
            return new Run(code, File.ReadAllText(Path.Combine(done, "runner.log")), done);
        }
        var output = Path.Combine(Path.GetTempPath(), $"finetuning-lessons-{Environment.ProcessId}");
        var root = FindRepoRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<configuration>/net10.0
        var runner = Path.Combine(root, "src", "NotebookRunner", "bin", configuration, "net10.0", "FineTuning.NotebookRunner.dll");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { runner, "notebooks", "--output", output, "--cell-timeout", "600" }) start.ArgumentList.Add(arg);
        start.Environment["FT_MODEL"] = SharedFixtures.Path("fixtures", "pretrained-tiny");
        start.Environment["FT_DATA_DIR"] = SharedFixtures.Path("assets", "mrpc");
        start.Environment["FT_MAX_TRAIN_SAMPLES"] = "64";
        start.Environment["FT_MAX_EVAL_SAMPLES"] = "32";
        start.Environment["FT_EPOCHS"] = "2";
        start.Environment["FT_DEVICE"] = "cpu";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        start.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(30)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the notebook runner did not finish in 30 minutes:\n{stdout.Result}");
        }
        return new Run(process.ExitCode, stdout.Result + stderr.Result, output);
    });

    static JsonObject Executed(string lesson)
    {
        var run = AllLessons.Value;
        var path = Path.Combine(run.OutputDirectory, lesson);
        Assert.True(File.Exists(path), $"{lesson} was not executed. Runner log:\n{run.Log}");
        return (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
    }

    /// <summary>Every output's text, then the same read as text: the kernel shows a returned dictionary as an HTML table,
    /// and "key: value" is how its rows read (so a check does not depend on the kernel's table markup).</summary>
    static string AllOutputs(JsonObject notebook)
    {
        var raw = string.Join("\n", CodeCells(notebook).Select(c => OutputText(c!)));
        // A dictionary of mixed values gets a "type" column (System.String, TorchSharp.torch+ScalarType): not a value.
        var rows = Regex.Replace(raw, @"<th><i>type</i></th>|<td>(?:<span>)?(?:<a [^>]*>)?[A-Z]\w*(?:[.+]\w+)+(?:`\d+)?(?:</a>)?(?:</span>)?</td>", "");
        rows = Regex.Replace(rows, @"</t[dh]>\s*<t[dh][^>]*>", ": ");
        rows = Regex.Replace(rows, @"</tr>|<br\s*/?>", "\n");
        rows = Regex.Replace(rows, @"<style[^>]*>.*?</style>", "", RegexOptions.Singleline);
        return raw + "\n" + System.Net.WebUtility.HtmlDecode(Regex.Replace(rows, "<[^>]+>", ""));
    }

    /// <summary>Outputs that are a plotly figure: text/html drawing with plotly.js (Plotly.newPlot / Plotly.react).</summary>
    static int Charts(JsonObject notebook) => CodeCells(notebook)
        .SelectMany(c => c!["outputs"]!.AsArray())
        .Count(o => (string?)o!["data"]?["text/html"] is { } html && Regex.IsMatch(html, @"Plotly\.(newPlot|react)\("));

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [MemberData(nameof(Lessons))]
    public void Every_Cell_Of_The_Lesson_Runs(string lesson)
    {
        var executed = Executed(lesson);
        var cells = CodeCells(executed);
        var errors = cells.SelectMany(c => c!["outputs"]!.AsArray()).Where(o => (string?)o!["output_type"] == "error").ToList();
        Assert.True(errors.Count == 0, $"{lesson}: {string.Join("\n", errors.Select(e => (string?)e!["evalue"]))}");
        Assert.All(cells, c => Assert.NotNull(c!["execution_count"]));
        Assert.DoesNotContain($"FAILED: notebooks/{lesson}", AllLessons.Value.Log);
        Assert.True(File.Exists(Path.Combine(AllLessons.Value.OutputDirectory, Path.ChangeExtension(lesson, ".html"))));
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void The_Runner_Reports_Every_Lesson_Passed()
    {
        var run = AllLessons.Value;
        Assert.True(run.ExitCode == 0, run.Log);
        var count = Directory.GetFiles(Path.Combine(FindRepoRoot(), "notebooks"), "*.ipynb").Length;
        Assert.Contains($"{count} notebooks: {count} passed, 0 failed", run.Log);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Head_Swap_Shows_Hugging_Faces_Warning_And_The_Table()
    {
        var outputs = AllOutputs(Executed("03-head-swap.ipynb"));
        Assert.Contains("Some weights of the model checkpoint at", outputs);
        Assert.Contains("were not used when initializing BertForSequenceClassification", outputs);
        Assert.Contains("You should probably TRAIN this model on a down-stream task", outputs);
        Assert.Contains("<td>dropped</td>", outputs);
        Assert.Contains("<code>classifier.weight</code>", outputs);
        Assert.Contains("classifier (the new head): 258", outputs);   // 128 × 2 + 2 for the tiny model
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Padding_Lesson_Measures_Tokens_And_Time_Both_Ways()
    {
        var executed = Executed("02-tokenize-and-pad.ipynb");
        var outputs = AllOutputs(executed);
        Assert.Matches(@"dynamic padding: tokens: \d+", outputs);
        Assert.Matches(@"max_length padding: tokens: \d+", outputs);
        Assert.Matches(@"dynamic padding: seconds: [\d.]+", outputs);
        Assert.Matches(@"max_length padding: seconds: [\d.]+", outputs);
        Assert.Contains("fewer with dynamic padding", outputs);   // PaddingStats over the epoch
        Assert.Contains("[50, 59, 47, 67, 59, 50, 62, 32]", outputs);   // the first eight MRPC lengths, as in the course
        Assert.True(Charts(executed) >= 1);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Evaluate_Lesson_Shows_The_Metrics_Dictionary_And_Its_Charts()
    {
        var executed = Executed("06-evaluate.ipynb");
        var outputs = AllOutputs(executed);
        Assert.Matches(@"eval_accuracy: [\d.]+", outputs);
        Assert.Matches(@"eval_f1: [\d.]+", outputs);
        Assert.Contains("actual \\ predicted", outputs);   // the confusion matrix
        Assert.Contains("misclassified", outputs);
        Assert.True(Charts(executed) >= 2, "confusion matrix and curves");
        // CI runs 05 first: 06 evaluates the model 05 saved (test-trainer/) and its logged losses instead of training again.
        Assert.Contains("evaluating lesson 05's model (test-trainer/", outputs);
        Assert.Contains("16 training steps (lesson 05's run, loaded from test-trainer/)", outputs);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Training_Arguments_Lesson_Measures_Mixed_Precision()
    {
        var outputs = AllOutputs(Executed("04-training-arguments.ipynb"));
        // A forward pass under Autocast: bf16 logits, an fp32 loss, fp32 master weights.
        Assert.Contains("weights: Float32", outputs);
        Assert.Contains("logits in fp32: Float32", outputs);
        Assert.Contains("logits under autocast: BFloat16", outputs);
        Assert.Contains("loss under autocast: Float32", outputs);
        // Six Trainer steps each way, timed, with Bf16 = true accepted on the CPU.
        var fp32 = Regex.Match(outputs, @"fp32: [\d.]+ s per step \(median\); losses ([\d., ]+)");
        var bf16 = Regex.Match(outputs, @"bf16: [\d.]+ s per step \(median\); losses ([\d., ]+)");
        Assert.True(fp32.Success && bf16.Success, outputs);
        double[] Losses(Match m) => m.Groups[1].Value.Split(", ").Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(6, Losses(fp32).Length);
        Assert.Equal(6, Losses(bf16).Length);
        Assert.All(Losses(fp32).Zip(Losses(bf16)), pair => Assert.True(Math.Abs(pair.First - pair.Second) < 0.01, $"fp32 {pair.First} vs bf16 {pair.Second}"));
        Assert.Matches(@"a bf16 step takes [\d.]+× the time of an fp32 step", outputs);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Lora_Lesson_Shows_The_Trainable_Share_The_Comparison_The_Adapter_And_The_Merge()
    {
        var outputs = AllOutputs(Executed("08-lora.ipynb"));
        // PEFT's line; the tiny model: 4 targets × 8 × (128 + 128) + the classifier's 128 × 2 + 2 = 8,450.
        Assert.Matches(@"trainable params: 8,450 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}", outputs);
        Assert.Contains("largest |logit change| from adding LoRA: 0", outputs);   // B = 0: the base model's logits exactly
        // The comparison table, both runs measured.
        Assert.Contains("<th>full fine-tuning</th><th>LoRA (r = 8, query and value)</th>", outputs);
        Assert.Matches(@"<td>AdamW state \(StateSizeInBytes\)</td><td>[\d.]+ MB</td><td>[\d.]+ KB</td>", outputs);
        Assert.Matches(@"<td>seconds per optimizer step \(median\)</td><td>[\d.]+</td><td>[\d.]+</td>", outputs);
        Assert.Matches(@"<td>validation accuracy</td><td>[\d.]+</td><td>[\d.]+</td>", outputs);
        // The adapter's files, its config and PEFT's saved key names.
        Assert.Contains("<td>adapter_config.json</td>", outputs);
        Assert.Contains("<td>adapter_model.safetensors</td>", outputs);
        Assert.Contains("\"peft_type\": \"LORA\"", outputs);
        Assert.Contains("\"task_type\": \"SEQ_CLS\"", outputs);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight  (8, 128)", outputs);
        Assert.Contains("base_model.model.classifier.weight  (2, 128)", outputs);
        // Reloaded with PeftModel.FromPretrained, then merged.
        var reloaded = Regex.Match(outputs, @"reloaded adapter: accuracy ([\d.]+) \(trained LoRA model: ([\d.]+)\); largest \|logit difference\| (\S+)");
        Assert.True(reloaded.Success, outputs);
        Assert.Equal(reloaded.Groups[2].Value, reloaded.Groups[1].Value);
        Assert.True(double.Parse(reloaded.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) < 1e-5, reloaded.Value);
        Assert.Contains("a plain BertForSequenceClassification", outputs);
        var merged = Regex.Match(outputs, @"merged logits equal the LoRA model's: largest \|difference\| (\S+)");
        Assert.True(merged.Success, outputs);
        Assert.True(double.Parse(merged.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 1e-5, merged.Value);
        Assert.DoesNotContain("DIFFER", outputs);
    }

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [InlineData("01-load-data.ipynb", 1)]
    [InlineData("04-training-arguments.ipynb", 1)]
    [InlineData("05-train.ipynb", 1)]
    [InlineData("07-careful-hyperparameters.ipynb", 2)]
    [InlineData("08-lora.ipynb", 2)]
    public void Lessons_Draw_Their_Charts(string lesson, int charts)
    {
        Assert.True(Charts(Executed(lesson)) >= charts, $"{lesson}: fewer than {charts} charts");
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Training_Lessons_Show_The_Live_Progress_Table()
    {
        // 06 trains only when 05 has not saved its model; CI runs 05 first, so 06 shows no progress table there.
        foreach (var lesson in new[] { "05-train.ipynb", "07-careful-hyperparameters.ipynb", "08-lora.ipynb" })
        {
            var outputs = AllOutputs(Executed(lesson));
            Assert.Contains("<progress value='16' max='16'", outputs);   // the final state of the bar: 2 epochs × 8 steps
            Assert.Contains("Training Loss", outputs);
            // Shown once: each training run's display is one output, at its final state; no placeholder or earlier
            // state stays beside it (display(...) then Update(...) would leave one in this kernel).
            var cells = CodeCells(Executed(lesson)).Where(c => OutputText(c!).Contains("<progress")).ToList();
            Assert.NotEmpty(cells);
            foreach (var cell in cells)
            {
                var shown = cell!["outputs"]!.AsArray().Select(o => (string?)o!["data"]?["text/html"]).OfType<string>()
                    .Where(h => h.Contains("<progress") || h.Contains("starting") || Regex.IsMatch(h, @"^<b>[^<]*</b>$")).ToList();
                Assert.All(shown, h => Assert.Contains("<progress value='16' max='16'", h));
            }
        }
    }
}
