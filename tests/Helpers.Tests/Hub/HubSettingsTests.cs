using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>HubSettings.FromEnvironment reads the variables Python's huggingface_hub reads, with its defaults. The
/// environment is a dictionary here: the process environment is never touched.</summary>
public sealed class HubSettingsTests : IDisposable
{
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    static HubSettings From(Dictionary<string, string> env) => HubSettings.FromEnvironment(n => env.GetValueOrDefault(n));

    [Fact]
    public void Defaults_Are_Huggingface_Hubs()
    {
        var s = From(new() { ["HOME"] = "/home/ada" });
        Assert.Equal("https://huggingface.co", s.Endpoint);
        Assert.Equal(Path.Combine("/home/ada", ".cache", "huggingface", "hub"), s.HubCache);
        Assert.Null(s.Token);
        Assert.False(s.Offline);
        Assert.Equal(TimeSpan.FromSeconds(10), s.EtagTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), s.DownloadTimeout);
        Assert.Equal(5, s.MaxRetries);
        Assert.IsType<ConsoleDownloadProgress>(s.Progress);
        Assert.Equal([1, 2, 4, 8, 8], Enumerable.Range(0, 5).Select(n => s.Backoff(n).TotalSeconds));
    }

    [Fact]
    public void Cache_Folder_Follows_XDG_HF_HOME_And_HF_HUB_CACHE()
    {
        Assert.Equal(Path.Combine("/xdg", "huggingface", "hub"), From(new() { ["XDG_CACHE_HOME"] = "/xdg" }).HubCache);
        Assert.Equal(Path.Combine("/hf", "hub"), From(new() { ["XDG_CACHE_HOME"] = "/xdg", ["HF_HOME"] = "/hf" }).HubCache);
        Assert.Equal("/old", From(new() { ["HF_HOME"] = "/hf", ["HUGGINGFACE_HUB_CACHE"] = "/old" }).HubCache);
        Assert.Equal("/new", From(new() { ["HUGGINGFACE_HUB_CACHE"] = "/old", ["HF_HUB_CACHE"] = "/new" }).HubCache);
        Assert.Equal(Path.Combine("/home/ada", "hf", "hub"), From(new() { ["HOME"] = "/home/ada", ["HF_HOME"] = "~/hf" }).HubCache);
    }

    [Fact]
    public void Token_Comes_From_HF_TOKEN_Else_The_Token_File()
    {
        var home = Path.Combine(tmp.Path, "hf");
        tmp.Write("hf/token", "  hf_fromfile\n");
        Assert.Equal("hf_fromfile", From(new() { ["HF_HOME"] = home }).Token);
        Assert.Equal("hf_fromenv", From(new() { ["HF_HOME"] = home, ["HF_TOKEN"] = "hf_fromenv\r\n" }).Token);
        Assert.Equal("hf_legacy", From(new() { ["HF_HOME"] = home, ["HUGGING_FACE_HUB_TOKEN"] = "hf_legacy" }).Token);
        tmp.Write("elsewhere", "hf_path");
        Assert.Equal("hf_path", From(new() { ["HF_HOME"] = home, ["HF_TOKEN_PATH"] = tmp.File("elsewhere") }).Token);
        Assert.Null(From(new() { ["HF_HOME"] = Path.Combine(tmp.Path, "none") }).Token);
        Assert.Null(From(new() { ["HF_HOME"] = Path.Combine(tmp.Path, "none"), ["HF_TOKEN"] = "  " }).Token);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    public void Offline_Accepts_Huggingface_Hubs_True_Values(string value, bool offline)
    {
        Assert.Equal(offline, From(new() { ["HF_HUB_OFFLINE"] = value }).Offline);
        Assert.Equal(offline, From(new() { ["TRANSFORMERS_OFFLINE"] = value }).Offline);
    }

    [Fact]
    public void Endpoint_Timeouts_And_Progress_Are_Read()
    {
        var s = From(new() { ["HF_ENDPOINT"] = "https://hf-mirror.example/", ["HF_HUB_ETAG_TIMEOUT"] = "2.5",
                             ["HF_HUB_DOWNLOAD_TIMEOUT"] = "30", ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" });
        Assert.Equal("https://hf-mirror.example", s.Endpoint);
        Assert.Equal(TimeSpan.FromSeconds(2.5), s.EtagTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), s.DownloadTimeout);
        Assert.Null(s.Progress);
    }

    [Theory]
    [InlineData("HF_ENDPOINT", "huggingface.co")]
    [InlineData("HF_ENDPOINT", "ftp://mirror")]
    [InlineData("HF_HUB_ETAG_TIMEOUT", "soon")]
    [InlineData("HF_HUB_DOWNLOAD_TIMEOUT", "-1")]
    public void Bad_Values_Name_The_Variable(string name, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => From(new() { [name] = value }));
        Assert.Contains(name, e.Message);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void Text_Form_Hides_The_Token()
    {
        var s = new HubSettings { HubCache = "/c", Token = "hf_VerySecret" };
        Assert.DoesNotContain("hf_VerySecret", s.ToString());
        Assert.Contains("Token = <set, hidden>", s.ToString());
        Assert.Contains("Token = none", (s with { Token = null }).ToString());
    }
}
