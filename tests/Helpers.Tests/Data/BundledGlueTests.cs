using System.Security.Cryptography;
using FineTuning.Data;
using FineTuning.Hub;
using FineTuning.Tests.Hub;

namespace FineTuning.Tests.Data;

/// <summary>
/// GLUE MRPC with no Hub: offline or unreachable with an empty cache, <c>LoadDataset("glue", "mrpc")</c> reads the copy
/// shipped in data/glue/mrpc (next to FineTuning.dll after the build), says so in the log, and gives the same rows as
/// the GLUE files themselves.
/// </summary>
public sealed class BundledGlueTests : IDisposable
{
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void Offline_Mrpc_Comes_From_The_Shipped_Copy_And_The_Log_Says_So()
    {
        var s = HubTestSettings.For(null, tmp) with { Offline = true };
        DatasetDict mrpc = null!;
        var log = HubTestSettings.CaptureLog(() => mrpc = Datasets.LoadDataset("glue", "mrpc", hub: s));
        Assert.Contains("GLUE mrpc is not in the Hub cache (the Hub is offline: HF_HUB_OFFLINE=1): loaded from the copy shipped with the repository (data/glue/mrpc", log);
        Assert.Equal(["train", "validation"], mrpc.Keys);
        Assert.Equal(3668, mrpc["train"].Count);
        Assert.Equal(408, mrpc["validation"].Count);
        Assert.Equal(279, mrpc["validation"].Column<long>("label").Count(l => l == 1));
        Assert.False(Directory.Exists(s.HubCache) && Directory.EnumerateFiles(s.HubCache, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public void An_Unreachable_Hub_Also_Falls_Back_But_Another_Revision_Does_Not()
    {
        var s = HubTestSettings.For(null, tmp);
        var log = HubTestSettings.CaptureLog(() => Assert.Equal(408, Datasets.LoadDataset("glue", "mrpc", hub: s)["validation"].Count));
        Assert.Contains("GLUE mrpc is not in the Hub cache (the Hub could not be reached)", log);
        Assert.Throws<LocalEntryNotFoundException>(() => Datasets.LoadDataset("glue", "mrpc", revision: "refs/convert/parquet", hub: s with { Offline = true }));
        Assert.Throws<LocalEntryNotFoundException>(() => Datasets.LoadDataset("glue", "rte", hub: s with { Offline = true }));
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void The_Shipped_Files_Are_The_Shared_Glue_Files_Byte_For_Byte()
    {
        var shipped = BundledGlue.Folder("mrpc", null);
        Assert.NotNull(shipped);
        foreach (var name in new[] { "train.tsv", "dev.tsv", "Microsoft_Shared_Source_License.htm" })
            Assert.Equal(SHA256.HashData(File.ReadAllBytes(SharedFixtures.Path("assets", "mrpc", name))),
                         SHA256.HashData(File.ReadAllBytes(Path.Combine(shipped!, name))));
    }
}
