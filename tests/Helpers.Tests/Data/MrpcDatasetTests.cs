using FineTuning.Data;

namespace FineTuning.Tests.Data;

/// <summary>GLUE MRPC from the shared TSVs (train.tsv, dev.tsv; no test.tsv), as HF's load_dataset("glue", "mrpc").</summary>
public class MrpcDatasetTests
{
    static DatasetDict Load() => Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"));

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Train_And_Validation_Have_Glue_Counts_And_Labels()
    {
        var mrpc = Load();
        Assert.Equal(["train", "validation"], mrpc.Keys);
        Assert.Equal(3668, mrpc["train"].Count);
        Assert.Equal(2474, mrpc["train"].Column<long>("label").Count(l => l == 1));
        Assert.Equal(408, mrpc["validation"].Count);
        Assert.Equal(279, mrpc["validation"].Column<long>("label").Count(l => l == 1));
        Assert.Equal(Enumerable.Range(0, 3668), mrpc["train"].Column<int>("idx"));
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void First_Row_Is_Read_Verbatim_With_Quotes_And_No_Bom()
    {
        var row = Load()["train"][0];
        Assert.Equal("Amrozi accused his brother, whom he called \"the witness\", of deliberately distorting his evidence.", row["sentence1"]);
        Assert.Equal("Referring to him as only \"the witness\", Amrozi accused his brother of deliberately distorting his evidence.", row["sentence2"]);
        Assert.Equal(1L, row["label"]);
        Assert.Equal(0, row["idx"]);
        // An unbalanced quote stays in the text (quoting off): dev row 0's sentence2 starts with '"'.
        Assert.StartsWith("\"The foodservice pie business", (string)Load()["validation"][0]["sentence2"]!);
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Features_And_ToString_Are_Hf_Like()
    {
        var mrpc = Load();
        Assert.Equal("{'sentence1': Value(dtype='string', id=None), 'sentence2': Value(dtype='string', id=None), " +
            "'label': ClassLabel(names=['not_equivalent', 'equivalent'], id=None), 'idx': Value(dtype='int32', id=None)}",
            mrpc["train"].Features.ToString());
        Assert.Equal("Dataset({\n    features: ['sentence1', 'sentence2', 'label', 'idx'],\n    num_rows: 3668\n})", mrpc["train"].ToString());
        Assert.Equal("DatasetDict({\n    train: Dataset({\n        features: ['sentence1', 'sentence2', 'label', 'idx'],\n        num_rows: 3668\n    })\n" +
            "    validation: Dataset({\n        features: ['sentence1', 'sentence2', 'label', 'idx'],\n        num_rows: 408\n    })\n})", mrpc.ToString());
        var label = Assert.IsType<ClassLabel>(mrpc["train"].Features["label"]);
        Assert.Equal("equivalent", label.Int2Str(1));
        Assert.Equal(0, label.Str2Int("not_equivalent"));
        Assert.Equal(2, label.NumClasses);
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Missing_Test_Split_Is_Absent_And_Asking_For_It_Names_The_File()
    {
        var mrpc = Load();
        Assert.False(mrpc.ContainsKey("test"));
        var e = Assert.Throws<KeyNotFoundException>(() => mrpc["test"]);
        Assert.Contains("test.tsv", e.Message);
        Assert.Contains("splits: train, validation", e.Message);
        Assert.Contains("test", mrpc.AbsentSplits.Keys);
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Batched_Map_Over_All_Of_Mrpc_Calls_Once_Per_Thousand_Rows()
    {
        var train = Load()["train"];
        var calls = new List<int>();
        var mapped = train.Map(batch =>
        {
            calls.Add(batch.Count);
            var a = batch.Strings("sentence1");
            var b = batch.Strings("sentence2");
            var ids = new List<int[]>(batch.Count);
            for (int i = 0; i < batch.Count; i++) ids.Add([a[i].Length, b[i].Length]);
            return new Dictionary<string, System.Collections.IList> { ["input_ids"] = ids };
        }, batched: true);
        Assert.Equal([1000, 1000, 1000, 668], calls); // columnar batches of batchSize rows, no per-row calls
        Assert.Equal(3668, mapped.Count);
        Assert.Equal("Sequence(feature=Value(dtype='int32', id=None), length=-1, id=None)", mapped.Features["input_ids"].ToString());
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Glue_Folder_With_Task_Subfolder_Is_Found()
    {
        // dataDir may be the GLUE root holding MRPC/; here the shared folder "assets" holds "mrpc/".
        var mrpc = Datasets.LoadDataset("glue", "MRPC", dataDir: SharedFixtures.Path("assets"));
        Assert.Equal(3668, mrpc["train"].Count);
    }

    [FixtureFact("assets", "mrpc", "train.tsv")]
    public void Glue_Files_By_Name_Are_Read_With_The_Tasks_Layout()
    {
        // LoadDataset("glue", task, dataFiles:) reads GLUE TSVs under any name and split, e.g. dev.tsv as a test split.
        var folder = SharedFixtures.Path("assets", "mrpc");
        var mrpc = Datasets.LoadDataset("glue", "mrpc", dataFiles: new()
        {
            ["train"] = Path.Combine(folder, "train.tsv"),
            ["test"] = Path.Combine(folder, "dev.tsv"),
        });
        Assert.Equal(["train", "test"], mrpc.Keys);
        Assert.Equal(3668, mrpc["train"].Count);
        Assert.Equal(408, mrpc["test"].Count);
        Assert.Equal(Load()["validation"].Column<long>("label"), mrpc["test"].Column<long>("label"));
        Assert.Equal(Load()["train"].Features, mrpc["train"].Features);

        var e = Assert.Throws<NotSupportedException>(() => Datasets.LoadDataset("glue", "mrpc",
            dataFiles: new() { ["train"] = Path.Combine(folder, "Microsoft_Shared_Source_License.htm") }));
        Assert.Contains("'.htm' is not a GLUE file", e.Message);
        Assert.Throws<FileNotFoundException>(() => Datasets.LoadDataset("glue", "mrpc", dataFiles: new() { ["train"] = "no/such.tsv" }));
    }
}
