using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.FineTune;
using FineTuning.Models;
using FineTuning.Training;

namespace FineTuning.Tests.FineTune;

/// <summary>
/// finetune end to end on the CPU, in-process: the fixture checkpoint (a random bert-tiny-shaped "pretrained" model)
/// fine-tuned for a few steps on a tiny CSV written here and on the shared MRPC files, then every output file checked.
/// </summary>
public class FineTuneProgramTests
{
    static string Model => SharedFixtures.Path("fixtures", "pretrained-tiny");
    static string Mrpc => SharedFixtures.Path("assets", "mrpc");

    sealed record Result(int ExitCode, string Output, string Error);

    static Result Run(string[] args, CancellationToken interrupt = default, params TrainerCallback[] callbacks)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = FineTuneProgram.Run(args, output, error, interrupt, callbacks);
        return new Result(code, output.ToString(), error.ToString());
    }

    static readonly string[] Positive = ["a good film", "good acting and a good story", "i liked it a lot", "great fun", "wonderful and good",
        "really good", "a great cast", "liked every minute"];
    static readonly string[] Negative = ["a bad film", "bad acting and a dull story", "i hated it", "boring", "awful and bad", "really bad",
        "a weak cast", "hated every minute"];

    /// <summary>Reviews: a text column, a sentiment label (names), and an id column that is not text.</summary>
    static (string Train, string Validation, string Test) WriteCsv(TempFolder dir, string validationExtraLabel = "")
    {
        string Rows(int start, int count) => string.Concat(Enumerable.Range(start, count).Select(i =>
            i % 2 == 0 ? $"{i},\"{Positive[i % Positive.Length]}, no {i}\",positive\n" : $"{i},\"{Negative[i % Negative.Length]}, no {i}\",negative\n"));
        var train = dir.Write("train.csv", "id,text,sentiment\n" + Rows(0, 24));
        var validation = dir.Write("dev.csv", "id,text,sentiment\n" + Rows(100, 8) + (validationExtraLabel.Length > 0 ? $"200,so-so,{validationExtraLabel}\n" : ""));
        var test = dir.Write("test.csv", "id,text\n" + string.Concat(Enumerable.Range(300, 5).Select(i => $"{i},{Positive[i % 8]}\n")));
        return (train, validation, test);
    }

    static string[] CsvArgs(TempFolder dir, string output, params string[] more)
    {
        var (train, validation, test) = WriteCsv(dir);
        return ["--model_name_or_path", Model, "--train_file", train, "--validation_file", validation, "--test_file", test,
            "--text_columns", "text", "--label_column", "sentiment", "--max_seq_length", "32", "--per_device_train_batch_size", "8",
            "--output_dir", output, .. more];
    }

    static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    static string[] Keys(string path) => Json(path).EnumerateObject().Select(p => p.Name).ToArray();

    /// <summary>HF's save_metrics: json.dump(indent=4, sort_keys=True), no trailing newline, *_samples as integers.</summary>
    static void AssertMetricsFile(string path, params string[] keys)
    {
        var text = File.ReadAllText(path);
        Assert.StartsWith("{\n    \"", text);
        Assert.EndsWith("\n}", text);
        Assert.Equal(keys.Order(StringComparer.Ordinal), Keys(path));
        Assert.Equal(Keys(path).Order(StringComparer.Ordinal), Keys(path));
        Assert.Matches("\"[a-z_]*_samples\": [0-9]+,?\n", text);
    }

    /// <summary>The figures of a report.html (or any page of FineTuning.Charts' HTML): each chart's plotly.js JSON.</summary>
    internal static List<System.Text.Json.Nodes.JsonObject> Figures(string html) =>
        Regex.Matches(html, @"var figure = (\{.*\});\n").Select(m => (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(m.Groups[1].Value)!).ToList();

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_three_step_run_reports_the_loss_and_the_learning_rate_of_every_step()
    {
        // logging_steps 500 (the default): HF's log history gets no training loss in 3 steps; the report still charts them.
        using var dir = new TempFolder();
        var output = dir.File("out");
        var r = Run(CsvArgs(dir, output, "--do_train", "--max_steps", "3", "--warmup_steps", "1", "--disable_tqdm", "True"));
        Assert.True(r.ExitCode == 0, r.Output + r.Error);

        var history = Json(Path.Combine(output, "trainer_state.json")).GetProperty("log_history").EnumerateArray().ToList();
        Assert.DoesNotContain(history, h => h.TryGetProperty("loss", out _));   // as HF writes it: nothing logged

        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        var figures = Figures(html);
        System.Text.Json.Nodes.JsonObject Trace(string name) =>
            figures.SelectMany(f => f["data"]!.AsArray()).Select(t => t!.AsObject()).Single(t => (string?)t["name"] == name);
        var loss = Trace("training loss (each step)");
        var lr = Trace("learning rate (after each step)");
        Assert.Equal([1.0, 2.0, 3.0], loss["x"]!.AsArray().Select(v => (double)v!));
        Assert.Equal(3, loss["y"]!.AsArray().Count(v => v is not null && double.IsFinite((double)v)));
        Assert.Equal([1.0, 2.0, 3.0], lr["x"]!.AsArray().Select(v => (double)v!));
        // Warmup 1 step, then linear decay to 0 at step 3 (HF's LR after each step): 5e-5, 2.5e-5, 0.
        Assert.Equal([5e-5, 2.5e-5, 0.0], lr["y"]!.AsArray().Select(v => (double)v!));
        Assert.All(figures, f => Assert.True((bool)f["layout"]!["showlegend"]!, "a legend on every chart"));
        Assert.All(figures, f => Assert.NotNull(f["layout"]!["xaxis"]!["title"]!["text"]));
        Assert.Single(Regex.Matches(html, "plotly.js v2"));   // plotly.js once per page
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Own_csv_train_eval_predict_writes_every_output_file()
    {
        using var dir = new TempFolder();
        var output = dir.File("out");
        var r = Run(CsvArgs(dir, output, "--do_train", "--do_eval", "--do_predict", "--max_steps", "4", "--eval_strategy", "steps",
            "--eval_steps", "2", "--save_steps", "2", "--logging_steps", "1", "--learning_rate", "1e-3"));
        Assert.True(r.ExitCode == 0, r.Output + r.Error);

        // The model folder: loadable here (and by Python transformers), with the label names.
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "training_args.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        using (var model = AutoModelForSequenceClassification.FromPretrained(output))
        {
            Assert.Equal("negative", model.Config.Id2Label[0]);
            Assert.Equal("positive", model.Config.Id2Label[1]);
            Assert.Empty(model.LoadingInfo!.MissingKeys);
        }
        Assert.Equal(["checkpoint-2", "checkpoint-4"], Directory.GetDirectories(output).Select(Path.GetFileName).Order());

        // HF's metric files.
        string[] train = ["epoch", "total_flos", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "train_steps_per_second"];
        string[] eval = ["epoch", "eval_accuracy", "eval_loss", "eval_runtime", "eval_samples", "eval_samples_per_second", "eval_steps_per_second"];
        AssertMetricsFile(Path.Combine(output, "train_results.json"), train);
        AssertMetricsFile(Path.Combine(output, "eval_results.json"), eval);
        AssertMetricsFile(Path.Combine(output, "all_results.json"), [.. train.Union(eval)]);
        Assert.Equal(24, Json(Path.Combine(output, "train_results.json")).GetProperty("train_samples").GetInt32());
        Assert.Equal(8, Json(Path.Combine(output, "eval_results.json")).GetProperty("eval_samples").GetInt32());

        var state = Json(Path.Combine(output, "trainer_state.json"));
        Assert.Equal(4, state.GetProperty("global_step").GetInt32());
        var history = state.GetProperty("log_history").EnumerateArray().ToList();
        Assert.Equal(4, history.Count(h => h.TryGetProperty("loss", out _)));
        Assert.Equal(2, history.Count(h => h.TryGetProperty("eval_loss", out _)));

        // predict_results_None.txt: run_glue names it after the task, "None" for your own data.
        var predictions = File.ReadAllLines(Path.Combine(output, "predict_results_None.txt"));
        Assert.Equal("index\tprediction", predictions[0]);
        Assert.Equal(6, predictions.Length);
        for (int i = 1; i < predictions.Length; i++) Assert.Matches($"^{i - 1}\t(negative|positive)$", predictions[i]);

        // The report: self-contained (plotly.js inline, no CDN), with the four charts.
        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("plotly.js v2", html);
        Assert.DoesNotContain("<script src", html);
        Assert.DoesNotContain("src=\"http", html);
        foreach (var section in new[] { "Loss", "Learning rate", "Evaluation metrics per epoch", "Confusion matrix (last evaluation)" })
            Assert.Contains($"<h2>{section}</h2>", html);
        Assert.Equal(4, Regex.Matches(html, @"Plotly\.newPlot\('").Count);

        // The console: the evaluation table during training, HF's metrics tables, the progress bar; no CPU estimate, as
        // 4 steps are over by the time steps 2-4 are measured.
        Assert.DoesNotContain("Training on the CPU", r.Output);
        Assert.Contains("Training Loss | Validation Loss |   Accuracy", r.Output);
        Assert.Contains("***** train metrics *****", r.Output);
        Assert.Contains("***** eval metrics *****", r.Output);
        Assert.Matches(@"  eval_samples\s+=\s+8\n", r.Output);
        Assert.Contains("Text column(s): text".ToLowerInvariant(), r.Output.ToLowerInvariant());
        Assert.Contains("100%|####################| 4/4 [", r.Error);
        Assert.Empty(dir.TempFiles());
    }

    [FixtureFact("assets", "mrpc")]
    public void Mrpc_from_glue_tsv_files_with_max_samples()
    {
        using var dir = new TempFolder();
        var output = dir.File("mrpc");
        var r = Run(["--model_name_or_path", Model, "--task_name", "mrpc", "--train_file", Path.Combine(Mrpc, "train.tsv"),
            "--validation_file", Path.Combine(Mrpc, "dev.tsv"), "--test_file", Path.Combine(Mrpc, "dev.tsv"), "--do_train", "--do_eval",
            "--do_predict", "--max_steps", "3", "--max_train_samples", "48", "--max_eval_samples", "16", "--max_predict_samples", "10",
            "--per_device_train_batch_size", "16", "--pad_to_max_length", "False", "--save_strategy", "no", "--output_dir", output]);
        Assert.True(r.ExitCode == 0, r.Output + r.Error);

        AssertMetricsFile(Path.Combine(output, "eval_results.json"), "epoch", "eval_accuracy", "eval_combined_score", "eval_f1", "eval_loss",
            "eval_runtime", "eval_samples", "eval_samples_per_second", "eval_steps_per_second");
        var eval = Json(Path.Combine(output, "eval_results.json"));
        Assert.Equal(16, eval.GetProperty("eval_samples").GetInt32());
        Assert.Equal((eval.GetProperty("eval_accuracy").GetDouble() + eval.GetProperty("eval_f1").GetDouble()) / 2,
            eval.GetProperty("eval_combined_score").GetDouble(), 12);
        Assert.Equal(48, Json(Path.Combine(output, "train_results.json")).GetProperty("train_samples").GetInt32());
        Assert.Equal(3, Json(Path.Combine(output, "trainer_state.json")).GetProperty("global_step").GetInt32());

        var predictions = File.ReadAllLines(Path.Combine(output, "predict_results_mrpc.txt"));
        Assert.Equal(11, predictions.Length);
        Assert.Equal("index\tprediction", predictions[0]);
        Assert.All(predictions.Skip(1), line => Assert.Matches("^[0-9]+\t(not_equivalent|equivalent)$", line));

        var config = Json(Path.Combine(output, "config.json"));
        Assert.Equal("equivalent", config.GetProperty("id2label").GetProperty("1").GetString());
        Assert.Empty(Directory.GetDirectories(output));   // --save_strategy no
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
    }

    [FixtureFact("assets", "mrpc")]
    public void Mrpc_eval_only_from_data_dir()
    {
        using var dir = new TempFolder();
        var output = dir.File("eval");
        var r = Run(["--model_name_or_path", Model, "--task_name", "MRPC", "--data_dir", Mrpc, "--do_eval", "--max_eval_samples", "8",
            "--output_dir", output]);
        Assert.True(r.ExitCode == 0, r.Output + r.Error);
        Assert.Equal(8, Json(Path.Combine(output, "eval_results.json")).GetProperty("eval_samples").GetInt32());
        Assert.False(File.Exists(Path.Combine(output, "train_results.json")));
        Assert.True(File.Exists(Path.Combine(output, "all_results.json")));
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Regression_on_json_lines_writes_scores_with_three_decimals()
    {
        using var dir = new TempFolder();
        var lines = string.Concat(Enumerable.Range(0, 12).Select(i => $"{{\"sentence\": \"{Positive[i % 8]} {i}\", \"score\": {i * 0.37:0.00}}}\n"));
        var train = dir.Write("train.jsonl", lines);
        var test = dir.Write("test.jsonl", "{\"sentence\": \"good\"}\n{\"sentence\": \"bad\"}\n{\"sentence\": \"fine\"}\n");
        var output = dir.File("out");
        var r = Run(["--model_name_or_path", Model, "--train_file", train, "--test_file", test, "--label_column", "score", "--do_train",
            "--do_predict", "--max_steps", "2", "--max_seq_length", "16", "--output_dir", output]);
        Assert.True(r.ExitCode == 0, r.Output + r.Error);
        var predictions = File.ReadAllLines(Path.Combine(output, "predict_results_None.txt"));
        Assert.Equal(4, predictions.Length);
        Assert.All(predictions.Skip(1), line => Assert.Matches(@"^[0-9]+\t-?[0-9]+\.[0-9]{3}$", line));
        Assert.Equal("regression", Json(Path.Combine(output, "config.json")).GetProperty("problem_type").GetString());
        Assert.Contains("train_loss", Keys(Path.Combine(output, "all_results.json")));
        Assert.DoesNotContain("eval_loss", Keys(Path.Combine(output, "all_results.json")));   // no --do_eval
    }

    /// <summary>Presses "Ctrl+C" (cancels the interrupt token) at the end of one step.</summary>
    sealed class CtrlCAt(int step, CancellationTokenSource source) : TrainerCallback
    {
        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            if (state.GlobalStep == step) source.Cancel();
        }
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Ctrl_c_saves_a_checkpoint_and_the_same_command_resumes()
    {
        using var dir = new TempFolder();
        var output = dir.File("out");
        var args = CsvArgs(dir, output, "--do_train", "--max_steps", "6", "--save_steps", "100", "--logging_steps", "1");
        using var ctrlC = new CancellationTokenSource();

        var first = Run(args, ctrlC.Token, new CtrlCAt(2, ctrlC));
        Assert.Equal(FineTuneProgram.InterruptedExitCode, first.ExitCode);
        Assert.Contains("Interrupted (Ctrl+C) stopped after step 2 of 6", first.Output);
        Assert.Equal(["checkpoint-2"], Directory.GetDirectories(output).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(output, "model.safetensors")));   // not finished: no final model
        Assert.False(File.Exists(Path.Combine(output, "train_results.json")));

        var second = Run(args);
        Assert.True(second.ExitCode == 0, second.Output + second.Error);
        Assert.Contains($"Checkpoint detected, resuming training at {Path.Combine(output, "checkpoint-2")}", second.Output);
        var state = Json(Path.Combine(output, "trainer_state.json"));
        Assert.Equal(6, state.GetProperty("global_step").GetInt32());
        Assert.Equal([1, 2, 3, 4, 5, 6], state.GetProperty("log_history").EnumerateArray()
            .Where(h => h.TryGetProperty("loss", out _)).Select(h => h.GetProperty("step").GetInt32()));

        var missing = Run([.. args, "--resume_from_checkpoint", Path.Combine(output, "checkpoint-9")]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("--resume_from_checkpoint", missing.Error);
        Assert.Contains("checkpoint-2", missing.Error);
    }

    // ---- errors a user can act on ----------------------------------------------------------------------------------

    static Result Fails(int exitCode, params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");
        return r;
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Unknown_task_lists_the_tasks()
    {
        using var dir = new TempFolder();
        var r = Fails(1, "--model_name_or_path", Model, "--task_name", "mrcp", "--do_train", "--output_dir", dir.File("o"));
        Assert.Contains("error: unknown task 'mrcp' (--task_name); the GLUE tasks are: cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli, ax.", r.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Missing_columns_list_the_available_ones()
    {
        using var dir = new TempFolder();
        var text = Fails(1, [.. CsvArgs(dir, dir.File("o"), "--do_train"), "--text_columns", "review"]);
        Assert.Contains("--text_columns: column 'review' is not in the train data", text.Error);
        Assert.Contains("its columns are: id, text, sentiment", text.Error);

        var label = Fails(1, [.. CsvArgs(dir, dir.File("o"), "--do_train"), "--label_column", "stars"]);
        Assert.Contains("--label_column: column 'stars' is not in the train data", label.Error);
        Assert.Contains("its columns are: id, text, sentiment", label.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Labels_unseen_in_training_are_named()
    {
        using var dir = new TempFolder();
        var (train, validation, _) = WriteCsv(dir, validationExtraLabel: "neutral");
        var r = Fails(1, "--model_name_or_path", Model, "--train_file", train, "--validation_file", validation, "--label_column", "sentiment",
            "--do_train", "--do_eval", "--output_dir", dir.File("o"));
        Assert.Contains("the validation data", r.Error);
        Assert.Contains("that the training data", r.Error);
        Assert.Contains("'neutral' (1 row(s), first at data row 9)", r.Error);
        Assert.Contains("'negative', 'positive'", r.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_non_empty_output_dir_needs_overwrite_output_dir()
    {
        using var dir = new TempFolder();
        var output = dir.File("o");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");
        var r = Fails(1, CsvArgs(dir, output, "--do_train"));
        Assert.Contains($"error: Output directory ({output}) already exists and is not empty. Use --overwrite_output_dir to overcome.", r.Error);
    }

    [Fact]
    public void A_missing_model_says_local_path_or_hub_id()
    {
        using var dir = new TempFolder();
        var (train, _, _) = WriteCsv(dir);
        var local = Fails(1, "--model_name_or_path", "./models/nothing-here", "--train_file", train, "--label_column", "sentiment",
            "--do_train", "--output_dir", dir.File("o"));
        Assert.Contains("--model_name_or_path ./models/nothing-here: no such folder", local.Error);

        var previous = Environment.GetEnvironmentVariable("HF_HUB_OFFLINE");
        Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
        try
        {
            var hub = Fails(1, "--model_name_or_path", "no-such-org/no-such-model", "--train_file", train, "--label_column", "sentiment",
                "--do_train", "--output_dir", dir.File("o"));
            Assert.Contains("read as a Hugging Face Hub model id", hub.Error);
            Assert.Contains("HF_HUB_OFFLINE is set", hub.Error);
            Assert.Contains("huggingface-cli download no-such-org/no-such-model --local-dir no-such-model", hub.Error);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", previous);
        }
    }

    [Fact]
    public void Bad_command_lines_exit_2_with_the_usage()
    {
        var bad = Fails(2, "--model_name_or_path", "m", "--output_dir", "o", "--learning_rate", "fast");
        Assert.StartsWith("usage: finetune", bad.Error);
        Assert.Contains("finetune: error: argument --learning_rate: invalid float value: 'fast'", bad.Error);

        var nothing = Fails(2, "--model_name_or_path", "m", "--output_dir", "o");
        Assert.Contains("nothing to do: add --do_train, --do_eval and/or --do_predict", nothing.Error);

        var invalid = Fails(2, "--model_name_or_path", "m", "--output_dir", "o", "--do_train", "--warmup_ratio", "2");
        Assert.Contains("WarmupRatio (warmup_ratio) must lie in range [0,1], got 2.0", invalid.Error);
        Assert.DoesNotContain("(Parameter", invalid.Error);
    }

    [Fact]
    public async Task The_built_executable_prints_help()
    {
        // The test project references src/FineTune, so its build output (finetune.dll + runtimeconfig) is beside ours.
        var dll = Path.Combine(AppContext.BaseDirectory, "finetune.dll");
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--help");
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, await stderr);
        var help = await stdout;
        Assert.StartsWith("usage: finetune", help);
        Assert.Contains("--learning_rate LEARNING_RATE", help);
        Assert.Contains("--task_name TASK_NAME", help);
    }

    /// <summary>The repository's root (the folder of Helpers.sln).</summary>
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("Helpers.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>finetune's arguments in the README's "Your own data" command (the bash block between its markers).</summary>
    internal static List<string> ReadmeOwnDataArguments()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var section = Regex.Match(readme, "<!-- your-own-data:start.*?-->(.*?)<!-- your-own-data:end -->", RegexOptions.Singleline);
        Assert.True(section.Success, "README.md: the your-own-data markers are missing");
        var command = Regex.Match(section.Groups[1].Value, "```bash\n(.*?)```", RegexOptions.Singleline).Groups[1].Value.Replace("\\\n", " ");
        var run = command.Split('\n').Single(l => l.StartsWith("dotnet run -c Release --project src/FineTune -- ", StringComparison.Ordinal));
        return run["dotnet run -c Release --project src/FineTune -- ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public async Task The_readme_own_data_command_runs_on_data_samples_and_a_redirected_console_stays_plain()
    {
        // The README's own-data command on data/support-tickets, from the repository's folder, as a child process whose
        // stdout and stderr are pipes (Console.IsOutputRedirected): no terminal control codes, each message once, a CPU
        // estimate from measured steps. Two changes: the fixture model (all-MiniLM-L6-v2 needs the Hub or its
        // embedded copy; tests are offline), and a temporary output folder.
        var args = ReadmeOwnDataArguments();
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", args[args.IndexOf("--model_name_or_path") + 1]);
        args[args.IndexOf("--model_name_or_path") + 1] = Model;
        using var dir = new TempFolder();
        args[args.IndexOf("--output_dir") + 1] = dir.File("out");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "finetune.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var (output, error) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, output + error);
        var all = output + error;
        Assert.DoesNotContain('\u001b', all);                     // no terminal escape codes
        Assert.DoesNotContain('\r', all.Replace(Environment.NewLine, "\n"));
        Assert.Single(Regex.Matches(output, "The following columns in the .* have been ignored: text\\."));  // once per run
        Assert.Single(Regex.Matches(error, @"100%\|#+\| 114/114 \["));  // the final progress line once (3 epochs of 38 steps)
        Assert.DoesNotMatch(@"\d{4,}\.\d\dit/s", error);                // no rate from one batch over microseconds
        Assert.Matches(@"Training on the CPU: steps 2–4 took [0-9.]+ s each \(measured\), so the 110 steps left take about \d+ (s|min), "
            + "plus about \\d+ (s|min) for 4 evaluations\\.", output);
        Assert.Contains("Task: classification into 3 labels (billing, delivery, product); text column(s): text", output);
        Assert.Contains("pad_to_max_length False", output);
        Assert.Equal(61, File.ReadAllLines(Path.Combine(dir.File("out"), "predict_results_None.txt")).Length);   // header + 60
        Assert.True(File.Exists(Path.Combine(dir.File("out"), "report.html")));
        Assert.False(File.Exists(Path.Combine(dir.File("out"), ".trainer.lock")));   // the lock goes when the run ends
    }
}
