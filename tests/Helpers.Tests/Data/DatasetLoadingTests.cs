using FineTuning.Data;
using Parquet;
using Parquet.Schema;

namespace FineTuning.Tests.Data;

/// <summary>LoadDataset for the user's csv / tsv / json-lines files and for the Hub's parquet files.</summary>
public class DatasetLoadingTests
{
    /// <summary>Writes an MRPC-like parquet file as the Hub stores nyu-mll/glue (sentence1, sentence2, label int64, idx int32).</summary>
    internal static string WriteMrpcParquet(string path, string[] s1, string[] s2, long[] labels, int[] idx, bool hfMetadata = false,
        string? hfMetadataJson = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var f1 = new DataField<string>("sentence1");
        var f2 = new DataField<string>("sentence2");
        var fl = new DataField<long>("label");
        var fi = new DataField<int>("idx");
        Task.Run(async () =>
        {
            await using var stream = File.Create(path);
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(f1, f2, fl, fi), stream);
            if (hfMetadata || hfMetadataJson is not null)
                writer.CustomMetadata = new Dictionary<string, string>
                {
                    ["huggingface"] = hfMetadataJson ?? """{"info": {"features": {"label": {"names": ["not_equivalent", "equivalent"], "_type": "ClassLabel"}}}}""",
                };
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(f1, s1);
            await group.WriteAsync(f2, s2);
            await group.WriteAsync(fl, new ReadOnlyMemory<long>(labels));
            await group.WriteAsync(fi, new ReadOnlyMemory<int>(idx));
        }).GetAwaiter().GetResult();
        return path;
    }

    [Fact]
    public void Glue_Mrpc_From_Hub_Parquet_Layout()
    {
        using var tmp = new TempFolder();
        WriteMrpcParquet(Path.Combine(tmp.Path, "mrpc", "train-00000-of-00001.parquet"),
            ["He said \"hi\".", "Ünïcödé"], ["b0", "b1"], [1, 0], [0, 1]);
        WriteMrpcParquet(Path.Combine(tmp.Path, "mrpc", "validation-00000-of-00001.parquet"), ["v"], ["w"], [1], [0]);
        var mrpc = Datasets.LoadDataset("glue", "mrpc", dataDir: tmp.Path);
        Assert.Equal(["train", "validation"], mrpc.Keys);
        Assert.Equal("He said \"hi\".", mrpc["train"][0]["sentence1"]);
        Assert.Equal("Ünïcödé", mrpc["train"][1]["sentence1"]);
        Assert.Equal([1L, 0L], mrpc["train"].Column<long>("label"));
        Assert.Equal(new ClassLabel("not_equivalent", "equivalent"), mrpc["train"].Features["label"]);
        Assert.Equal(new Value("int32"), mrpc["train"].Features["idx"]);
        Assert.Contains("test", mrpc.AbsentSplits.Keys);
    }

    [Fact]
    public void Parquet_Data_Files_Round_Trip_With_Hf_ClassLabel_Metadata()
    {
        using var tmp = new TempFolder();
        var train = WriteMrpcParquet(Path.Combine(tmp.Path, "t.parquet"), ["a", "b", "c"], ["d", "e", "f"], [0, 1, 1], [0, 1, 2], hfMetadata: true);
        var plain = WriteMrpcParquet(Path.Combine(tmp.Path, "p.parquet"), ["a"], ["d"], [1], [0]);
        var d = Datasets.LoadDataset("parquet", dataFiles: new() { ["train"] = train, ["test"] = plain });
        Assert.Equal("{'sentence1': Value(dtype='string', id=None), 'sentence2': Value(dtype='string', id=None), " +
            "'label': ClassLabel(names=['not_equivalent', 'equivalent'], id=None), 'idx': Value(dtype='int32', id=None)}", d["train"].Features.ToString());
        Assert.Equal(new Value("int64"), d["test"].Features["label"]);
        Assert.Equal(["c", "f", 1L, 2], d["train"][2].Values);
    }

    [Fact]
    public void Csv_Handles_Quotes_Commas_And_Newlines()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("train.csv",
            "text,label,score\r\n" +
            "\"Hello, world\",1,0.5\r\n" +
            "\"She said \"\"no\"\"\",0,1\r\n" +
            "\"two\nlines\",1,2.25\r\n" +
            "\n" +
            "plain,0,3\r\n");
        var d = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = path })["train"];
        Assert.Equal(4, d.Count);
        Assert.Equal(["Hello, world", "She said \"no\"", "two\nlines", "plain"], d.Column<string>("text"));
        Assert.Equal(new Value("int64"), d.Features["label"]);
        Assert.Equal(new Value("float64"), d.Features["score"]);
        Assert.Equal([0.5, 1, 2.25, 3], d.Column<double>("score"));
        Assert.Equal([path], d.Info.DataFiles);
    }

    [Fact]
    public void Tsv_And_Csv_With_Tab_Delimiter()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("a.tsv", "sentence\tlabel\nit \"is good\tpositive\nbad\tnegative\n");
        var tsv = Datasets.LoadDataset("tsv", dataFiles: new() { ["train"] = path }, labelNames: ["negative", "positive"])["train"];
        Assert.Equal("it \"is good", tsv[0]["sentence"]); // tsv: no quoting
        Assert.Equal([1L, 0L], tsv.Column<long>("label"));

        var quoted = tmp.Write("b.tsv", "sentence\tlabel\n\"a\tb\"\t1\n");
        var csv = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = quoted }, delimiter: '\t')["train"];
        Assert.Equal("a\tb", csv[0]["sentence"]);
    }

    [Fact]
    public void Json_Lines_Are_Typed()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("train.jsonl",
            "{\"text\": \"a \\\"quoted\\\" b\", \"label\": 1, \"ids\": [1, 2]}\n" +
            "\n" +
            "{\"text\": \"c\", \"label\": 0, \"ids\": [], \"extra\": \"note\"}\n");
        var d = Datasets.LoadDataset("json", dataFiles: new() { ["train"] = path })["train"];
        Assert.Equal(["text", "label", "ids", "extra"], d.ColumnNames);
        Assert.Equal("a \"quoted\" b", d[0]["text"]);
        Assert.Equal(new Value("int64"), d.Features["label"]);
        Assert.Equal(new Sequence(new Value("int64")), d.Features["ids"]);
        Assert.Equal([1L, 2L], (long[])d[0]["ids"]!);
        Assert.Null(d[0]["extra"]); // a field missing from a line is null (string columns only)
        Assert.Equal("note", d[1]["extra"]);
    }

    [Fact]
    public void Label_Names_Become_A_ClassLabel()
    {
        using var tmp = new TempFolder();
        var train = tmp.Write("train.csv", "text,label\na,pos\nb,neg\nc,neutral\n");
        var test = tmp.Write("test.csv", "text,label\nd,pos\ne,zzz\n");
        var inferred = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = train, ["test"] = test }, labelColumn: "label");
        var label = new ClassLabel("neg", "neutral", "pos", "zzz"); // sorted distinct names of all splits (HF class_encode_column)
        Assert.Equal(label, inferred["train"].Features["label"]);
        Assert.Equal([2L, 0L, 1L], inferred["train"].Column<long>("label"));
        Assert.Equal([2L, 3L], inferred["test"].Column<long>("label"));

        var given = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = train }, labelNames: ["neg", "neutral", "pos"]);
        Assert.Equal([2L, 0L, 1L], given["train"].Column<long>("label"));

        var ints = tmp.Write("ints.csv", "text,label\na,1\nb,0\n");
        var byId = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = ints }, labelNames: ["neg", "pos"]);
        Assert.Equal([1L, 0L], byId["train"].Column<long>("label"));

        var later = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = train }).ClassEncodeColumn("label");
        Assert.Equal(new ClassLabel("neg", "neutral", "pos"), later["train"].Features["label"]);
    }

    [Fact]
    public void Glue_Other_Tasks_Read_Their_Tsv_Columns()
    {
        using var tmp = new TempFolder();
        tmp.Write("SST-2/train.tsv", "sentence\tlabel\nhide new secretions \t0\ngreat film \t1\n");
        tmp.Write("SST-2/test.tsv", "index\tsentence\n0\tuneasy mishmash\n");
        var sst2 = Datasets.LoadDataset("glue", "sst2", dataDir: tmp.Path);
        Assert.Equal(["sentence", "label", "idx"], sst2["train"].ColumnNames);
        Assert.Equal(new ClassLabel("negative", "positive"), sst2["train"].Features["label"]);
        Assert.Equal([-1L], sst2["test"].Column<long>("label"));
        Assert.Contains("dev.tsv", sst2.AbsentSplits["validation"]);

        tmp.Write("CoLA/train.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n");
        var cola = Datasets.LoadDataset("glue", "cola", dataDir: tmp.Path)["train"];
        Assert.Equal("They drank the pub.", cola[1]["sentence"]);
        Assert.Equal([1L, 0L], cola.Column<long>("label"));

        tmp.Write("MNLI/dev_matched.tsv", "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label\n0\t1\t2\tg\tP\tH\tneutral\tneutral\n");
        var mnli = Datasets.LoadDataset("glue", "mnli", dataDir: tmp.Path);
        Assert.Equal(["validation_matched"], mnli.Keys);
        Assert.Equal(["premise", "hypothesis", "label", "idx"], mnli["validation_matched"].ColumnNames);
        Assert.Equal(1L, mnli["validation_matched"][0]["label"]);

        tmp.Write("STS-B/dev.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\t2012\t1\ts\ts\tA\tB\t4.25\n");
        var stsb = Datasets.LoadDataset("glue", "stsb", dataDir: tmp.Path)["validation"];
        Assert.Equal(new Value("float32"), stsb.Features["label"]);
        Assert.Equal(4.25f, stsb[0]["label"]);

        tmp.Write("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA\tB\tnot_entailment\n");
        Assert.Equal(1L, Datasets.LoadDataset("glue", "rte", dataDir: tmp.Path)["train"][0]["label"]);
    }

    [Fact]
    public void Glue_Without_DataDir_Comes_From_The_Hub()
    {
        // The test process runs with HF_HUB_OFFLINE=1 and an empty HF_HOME (Hub/HubIsolation.cs): the Hub is not asked,
        // and the error names the file it would have needed. Downloads are tested in Hub/HubDatasetTests.cs; MRPC, which
        // the repository ships, is read from data/glue/mrpc instead (Data/BundledGlueTests.cs).
        var e = Assert.Throws<FineTuning.Hub.LocalEntryNotFoundException>(() => Datasets.LoadDataset("glue", "rte"));
        Assert.Contains("rte/train-00000-of-00001.parquet", e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
    }

    [Fact]
    public void Skip_Bad_Rows_Counts_Them()
    {
        using var tmp = new TempFolder();
        tmp.Write("MRPC/train.tsv", "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA\tB\nx\t1\t2\tC\tD\n0\t1\t2\tE\n1\t3\t4\tF\tG\n");
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        Logging.Writer = log;
        try
        {
            var train = Datasets.LoadDataset("glue", "mrpc", dataDir: tmp.Path, skipBadRows: true)["train"];
            Assert.Equal(2, train.Count);
            Assert.Equal(2, train.Info.SkippedRows);
            Assert.Equal([0, 3], train.Column<int>("idx")); // idx is the row of the file
            Assert.Contains("line 3", log.ToString());
            Assert.Contains("line 4", log.ToString());
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
    }
}
