using System.Diagnostics;
using System.Net;
using System.Text;
using Encoding = System.Text.Encoding;
using System.Text.Json;
using FineTuning.Data;
using FineTuning.FineTune;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Tests.Hub;
using FineTuning.Tokenizers;
using Xunit.Abstractions;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// A Hugging Face token never appears in what a run writes. A whole <c>finetune</c> run (the built program, as a user
/// starts it) downloads a private model and private GLUE data from the stand-in Hub with <c>HF_TOKEN</c> — through a
/// retried request and a resumed download, so that those log lines are there too — trains two steps with checkpoints,
/// evaluates and saves; then failing runs (in-process, every console stream captured): a repository without weights
/// (404) and a missing revision with the token, a wrong token (401), a Hub that answers 500 to every retry. Every log
/// line (stdout, stderr, <see cref="Logging"/>), every exception (with its inner exceptions and stack) and every file
/// under the output folders and the Hub cache is searched for the token, raw and in the encodings a leak could take
/// (UTF-16, URL-encoded, JSON- and HTML-escaped, base64 of the token, of the <c>Bearer</c> header and of a Basic
/// credential).
/// </summary>
[Collection(HubEnvironment.Name)]
public sealed class TokenSecrecyTests(ITestOutputHelper log) : IDisposable
{
    // Characters that URL-, JSON- and base64-encoding all change, so every form below differs from the raw token.
    const string Token = "hf_Zq9SecretCore/Tok+en=";
    const string WrongToken = "hf_Wr0ngSecretCore+Other/x=";
    const string ModelId = "org/private-bert";

    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    string HfHome => tmp.File("hf-home");

    /// <summary>The token and what it looks like once encoded, each a byte pattern to search for.</summary>
    static IEnumerable<(string Form, byte[] Bytes)> Forms(string token)
    {
        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        string Base64(string s) => Convert.ToBase64String(Utf8(s));
        var texts = new (string, string)[]
        {
            ("raw", token),
            ("URL-encoded", Uri.EscapeDataString(token)),
            ("JSON-escaped", JsonSerializer.Serialize(token)[1..^1]),
            ("HTML-escaped", WebUtility.HtmlEncode(token)),
            ("its distinctive part", token[3..14]),
            ("base64", Base64(token)),
            ("base64 of the Bearer header", Base64("Bearer " + token)),
            ("base64 of a Basic credential", Base64(":" + token)),
            ("base64url", Base64(token).TrimEnd('=').Replace('+', '-').Replace('/', '_')),
        };
        foreach (var (form, text) in texts.DistinctBy(t => t.Item2)) yield return (form, Utf8(text));
        yield return ("UTF-16", Encoding.Unicode.GetBytes(token));
    }

    static void AssertNoToken(string where, byte[] content, params string[] tokens)
    {
        foreach (var token in tokens)
            foreach (var (form, bytes) in Forms(token))
                Assert.False(content.AsSpan().IndexOf(bytes) >= 0, $"the token ({form}) is in {where}");
    }

    static void AssertNoToken(string where, string text, params string[] tokens) => AssertNoToken(where, Encoding.UTF8.GetBytes(text), tokens);

    /// <summary>Every file under the folders, searched; returns how many.</summary>
    static int AssertNoTokenInFiles(IEnumerable<string> folders, params string[] tokens)
    {
        int files = 0;
        foreach (var folder in folders.Where(Directory.Exists))
            foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                AssertNoToken(file, File.ReadAllBytes(file), tokens);
                files++;
            }
        return files;
    }

    /// <summary>The model (pretrained-tiny) and GLUE MRPC, both private: only <see cref="Token"/> opens them. Returns
    /// the model repository.</summary>
    StandInHub.Repo ServePrivateRepos()
    {
        var model = hub.AddRepo(ModelId, folder: SharedFixtures.Path("fixtures", "pretrained-tiny"));
        model.RequiredToken = Token;
        HubDatasetTests.ServeMrpc(hub, tmp, requiredToken: Token);
        return model;
    }

    string[] FineTuneArgs(string output, string model = ModelId) =>
    [
        "--model_name_or_path", model, "--task_name", "mrpc", "--do_train", "--do_eval", "--max_train_samples", "16",
        "--max_eval_samples", "8", "--max_steps", "2", "--per_device_train_batch_size", "8", "--save_steps", "1",
        "--logging_steps", "1", "--max_seq_length", "32", "--log_level", "debug", "--output_dir", output,
    ];

    [FixtureFact]
    public async Task A_Finetune_Run_With_HF_TOKEN_Writes_The_Token_Nowhere()
    {
        var model = ServePrivateRepos();
        // A retried metadata request and a download cut half-way and resumed: their log lines are searched too.
        hub.FailNext($"/{ModelId}/resolve/main/config.json", 503, method: "HEAD");
        hub.DropNext("/cdn/" + model.Files["model.safetensors"].Sha256, afterBytes: 1 << 20);
        var output = tmp.File("run");

        var dll = Path.Combine(AppContext.BaseDirectory, "finetune.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in (string[])["exec", dll, .. FineTuneArgs(output)]) start.ArgumentList.Add(a);
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        start.Environment["HF_ENDPOINT"] = hub.Endpoint;
        start.Environment["HF_HOME"] = HfHome;
        start.Environment["HF_TOKEN"] = Token;
        start.Environment.Remove("HF_HUB_OFFLINE"); // the test process itself is offline (HubIsolation)
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180)))
            await process.WaitForExitAsync(timeout.Token);
        var (outText, errText) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, $"finetune failed ({process.ExitCode}):\n{outText}\n{errText}");

        // The run really used the token, and really went through the retry and the resumed download...
        Assert.Contains(hub.Requests, r => r.Path.StartsWith($"/{ModelId}/", StringComparison.Ordinal) && r.Authorization == $"Bearer {Token}");
        Assert.Contains(hub.Requests, r => r.Path.StartsWith("/datasets/nyu-mll/glue/", StringComparison.Ordinal) && r.Authorization == $"Bearer {Token}");
        Assert.All(hub.RequestsTo("/cdn/"), r => Assert.Null(r.Authorization));
        Assert.Contains("retrying", outText + errText);
        Assert.Contains("Resuming from byte", outText + errText);
        Assert.Contains("model.safetensors", errText); // the download progress lines (stderr, as tqdm's)
        Assert.True(File.Exists(Path.Combine(output, "checkpoint-2", "trainer_state.json")));
        Assert.True(File.Exists(Path.Combine(output, "report.html")));

        // ...and wrote the token nowhere.
        AssertNoToken("finetune's standard output", outText, Token);
        AssertNoToken("finetune's standard error", errText, Token);
        int files = AssertNoTokenInFiles([output, HfHome], Token);
        log.WriteLine($"searched {outText.Length + errText.Length:N0} characters of output and {files} files");
        Assert.True(files > 20, $"only {files} files searched");
    }

    /// <summary>finetune in-process with HF_TOKEN set: every console stream and the library log captured.</summary>
    (int Code, string Text) RunInProcess(string token, string model, string output)
    {
        var (stdout, stderr, logged) = (new StringWriter(), new StringWriter(), new StringWriter());
        var (consoleOut, consoleError) = (Console.Out, Console.Error);
        var (logWriter, logLevel) = (Logging.Writer, Logging.Verbosity);
        using var env = HubEnvironment.Set(new() { ["HF_TOKEN"] = token, ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HOME"] = HfHome, ["HF_HUB_OFFLINE"] = null });
        Console.SetOut(stdout);
        Console.SetError(stderr);
        // The environment's settings, without the waits between retries; progress on the (captured) console.
        HubSettings.Default = HubSettings.FromEnvironment() with { Backoff = _ => TimeSpan.Zero };
        (Logging.Writer, Logging.Verbosity) = (logged, LogLevel.Debug);
        try
        {
            int code = FineTuneProgram.Run(FineTuneArgs(output, model), stdout, stderr);
            return (code, $"{stdout}\n{stderr}\n{logged}");
        }
        finally
        {
            HubSettings.Default = null;
            Console.SetOut(consoleOut);
            Console.SetError(consoleError);
            (Logging.Writer, Logging.Verbosity) = (logWriter, logLevel);
        }
    }

    /// <summary>The exception the library call raises, as everything a program might print of it.</summary>
    static string Thrown(Action call)
    {
        try
        {
            call();
        }
        catch (Exception e)
        {
            var text = new StringBuilder(e.ToString()); // type, message, inner exceptions, stack
            for (var inner = e; inner is not null; inner = inner.InnerException) text.Append('\n').Append(inner.Message);
            if (e is HubException h) text.Append($"\n{h.RepoId} {h.FileName} {h.Revision} {h.StatusCode}");
            return text.ToString();
        }
        throw new Xunit.Sdk.XunitException("expected an exception");
    }

    [FixtureFact]
    public void Failing_Runs_With_A_Token_Write_It_In_No_Message_Log_Or_File()
    {
        ServePrivateRepos();
        hub.AddRepo("org/no-weights", files: new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(SharedFixtures.Path("fixtures", "pretrained-tiny", "config.json")),
            ["vocab.txt"] = File.ReadAllBytes(SharedFixtures.Path("fixtures", "pretrained-tiny", "vocab.txt")),
        }).RequiredToken = Token;
        var texts = new List<(string What, string Text)>();

        // finetune itself: a repository without weights (404 EntryNotFound), a wrong token (401), a Hub failing with 500.
        var noWeights = RunInProcess(Token, "org/no-weights", tmp.File("out-404"));
        Assert.Equal(1, noWeights.Code);
        Assert.Contains("does not appear to have a file named model.safetensors", noWeights.Text);
        texts.Add(("finetune, 404", noWeights.Text));

        var wrong = RunInProcess(WrongToken, ModelId, tmp.File("out-401"));
        Assert.Equal(1, wrong.Code);
        Assert.Contains("A token was sent; it does not give access", wrong.Text);
        texts.Add(("finetune, wrong token", wrong.Text));

        // The library's own exceptions, whole, for the same cases and a few more.
        var s = HubTestSettings.For(hub, tmp) with { Token = Token };
        texts.Add(("404 file", Thrown(() => AutoModelForSequenceClassification.FromPretrained("org/no-weights", hub: s))));
        texts.Add(("404 revision", Thrown(() => AutoModelForSequenceClassification.FromPretrained(ModelId, revision: "v9", hub: s))));
        texts.Add(("401 missing repository", Thrown(() => AutoTokenizer.FromPretrained("org/does-not-exist", hub: s))));
        texts.Add(("401 wrong token", Thrown(() => Datasets.LoadDataset("glue", "mrpc", hub: s with { Token = WrongToken }))));
        texts.Add(("HubSettings.ToString()", s.ToString()));

        // Last, as the faults outlast it: a Hub answering 500 to every retry.
        hub.FailNext("/resolve/", 500, times: 1000);
        var failing = RunInProcess(Token, ModelId, tmp.File("out-500"));
        Assert.Equal(1, failing.Code);
        Assert.Contains("also after 5 retries", failing.Text);
        Assert.Contains("retrying", failing.Text);
        texts.Add(("finetune, 500", failing.Text));
        string? thrown = null;
        var logged = HubTestSettings.CaptureLog(() =>
            thrown = Thrown(() => FileDownload.HfHubDownload(ModelId, "vocab.txt", settings: s with { HubCache = tmp.File("other-cache") })));
        Assert.Contains("retrying", logged);
        texts.Add(("500", thrown!));
        texts.Add(("the log of the 500", logged));

        foreach (var (what, text) in texts) AssertNoToken(what, text, Token, WrongToken);
        int files = AssertNoTokenInFiles([tmp.File("out-404"), tmp.File("out-401"), tmp.File("out-500"), HfHome, s.HubCache], Token, WrongToken);
        log.WriteLine($"searched {texts.Sum(t => t.Text.Length):N0} characters of messages and logs and {files} files");
    }
}
