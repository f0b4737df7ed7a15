using FineTuning.Data;
using FineTuning.Hub;
using FineTuning.Tests.Data;

namespace FineTuning.Tests.Hub;

/// <summary>
/// <c>LoadDataset("glue", "mrpc")</c> from the stand-in Hub: the shared MRPC TSVs are converted to parquet files in
/// nyu-mll/glue's layout (<c>mrpc/train-00000-of-00001.parquet</c>, ...), served as a dataset repository, downloaded
/// into <c>datasets--…</c> and read by the parquet loader into the same rows as the TSVs.
/// </summary>
public sealed class HubDatasetTests : IDisposable
{
    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    /// <summary>nyu-mll/glue's mrpc folder, made from the shared TSVs (train and validation; the TSVs have no test split);
    /// private (this token needed) when <paramref name="requiredToken"/> is given.</summary>
    internal static DatasetDict ServeMrpc(StandInHub hub, TempFolder tmp, string? requiredToken = null)
    {
        var tsv = Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"));
        var files = new Dictionary<string, byte[]>();
        foreach (var (split, data) in tsv)
        {
            var path = DatasetLoadingTests.WriteMrpcParquet(tmp.File($"parquet/{split}.parquet"),
                data.Column<string>("sentence1").ToArray(), data.Column<string>("sentence2").ToArray(),
                data.Column<long>("label").ToArray(), data.Column<int>("idx").ToArray(), hfMetadata: true);
            files[$"mrpc/{split}-00000-of-00001.parquet"] = File.ReadAllBytes(path);
        }
        files["README.md"] = "---\nconfigs:\n- config_name: mrpc\n---\n"u8.ToArray();
        hub.AddRepo("nyu-mll/glue", RepoType.Dataset, files: files).RequiredToken = requiredToken;
        hub.AddAlias("glue", "nyu-mll/glue", RepoType.Dataset);
        return tsv;
    }

    static void AssertSameRows(DatasetDict expected, DatasetDict actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (split, data) in expected)
        {
            Assert.Equal(data.Count, actual[split].Count);
            Assert.Equal(data.Features, actual[split].Features);
            foreach (var column in data.ColumnNames)
                Assert.Equal(data[column], actual[split][column]);
        }
    }

    [FixtureFact("assets", "mrpc")]
    public void Glue_Mrpc_Comes_From_The_Hubs_Parquet_Files_And_Then_From_The_Cache()
    {
        var tsv = ServeMrpc(hub, tmp);
        var s = HubTestSettings.For(hub, tmp);

        var mrpc = Datasets.LoadDataset("glue", "mrpc", hub: s);
        AssertSameRows(tsv, mrpc);
        Assert.Equal(3668, mrpc["train"].Count);
        // The repository has no test split: left out, and asking for it says which file was looked for.
        Assert.Contains("test", mrpc.AbsentSplits.Keys);
        Assert.Contains("test-", Assert.Throws<KeyNotFoundException>(() => mrpc["test"]).Message);

        // Fetched as huggingface_hub would: the legacy name followed to nyu-mll/glue, cached under the name asked for.
        var repoFolder = Path.Combine(s.HubCache, "datasets--glue");
        var commit = File.ReadAllText(Path.Combine(repoFolder, "refs", "main"));
        Assert.True(File.Exists(Path.Combine(repoFolder, "snapshots", commit, "mrpc", "train-00000-of-00001.parquet")));
        Assert.True(File.Exists(Path.Combine(repoFolder, ".no_exist", commit, "mrpc", "test-00000-of-00001.parquet")));
        Assert.Contains(hub.Requests, r => r.Path == "/datasets/glue/resolve/main/mrpc/train-00000-of-00001.parquet");
        Assert.Contains(hub.Requests, r => r.Path == "/datasets/nyu-mll/glue/resolve/main/mrpc/train-00000-of-00001.parquet");
        Assert.Equal(2, hub.RequestsTo("/cdn/", "GET").Count);

        // The canonical id works the same, into its own cache folder.
        AssertSameRows(tsv, Datasets.LoadDataset("nyu-mll/glue", "mrpc", hub: s));
        Assert.True(Directory.Exists(Path.Combine(s.HubCache, "datasets--nyu-mll--glue", "snapshots", commit)));

        // No server, offline: the cache alone.
        hub.Stop();
        AssertSameRows(tsv, Datasets.LoadDataset("glue", "mrpc", hub: s with { Offline = true }));
    }

    [FixtureFact("assets", "mrpc")]
    public void Glue_Task_The_Repository_Lacks_Names_The_Files_Looked_For()
    {
        ServeMrpc(hub, tmp);
        var e = Assert.Throws<EntryNotFoundException>(() => Datasets.LoadDataset("glue", "rte", hub: HubTestSettings.For(hub, tmp)));
        Assert.Contains("rte/train-00000-of-00001.parquet", e.Message);
        Assert.Contains("pass dataDir", e.Message);
    }

    [Fact]
    public void Glue_Offline_With_An_Empty_Cache_Names_The_Missing_File()
    {
        // A task the repository does not ship (MRPC is read from data/glue/mrpc instead: Data/BundledGlueTests.cs).
        var e = Assert.Throws<LocalEntryNotFoundException>(() =>
            Datasets.LoadDataset("glue", "rte", hub: HubTestSettings.For(null, tmp) with { Offline = true }));
        Assert.Contains("rte/train-00000-of-00001.parquet", e.Message);
        Assert.Contains("offline mode is on", e.Message);
    }
}
