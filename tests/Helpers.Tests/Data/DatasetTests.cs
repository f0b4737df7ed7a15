using System.Collections;
using FineTuning.Data;
using static TorchSharp.torch;

namespace FineTuning.Tests.Data;

/// <summary>The in-memory Dataset / DatasetDict operations (HF map, select, shuffle, filter, train_test_split, ...).</summary>
public class DatasetTests
{
    static readonly Features MrpcFeatures = new(
        ("sentence1", new Value("string")), ("sentence2", new Value("string")),
        ("label", new ClassLabel("not_equivalent", "equivalent")), ("idx", new Value("int32")));

    /// <summary>n MRPC-like rows: sentence1 "a{i}", sentence2 "b{i}", label i % 2, idx i.</summary>
    static Dataset Make(int n) => Dataset.FromColumns(new Dictionary<string, IList>
    {
        ["sentence1"] = Enumerable.Range(0, n).Select(i => $"a{i}").ToList(),
        ["sentence2"] = Enumerable.Range(0, n).Select(i => $"b{i}").ToList(),
        ["label"] = Enumerable.Range(0, n).Select(i => (long)(i % 2)).ToList(),
        ["idx"] = Enumerable.Range(0, n).ToList(),
    }, MrpcFeatures);

    /// <summary>What a tokenizer's BatchEncoding returns: input_ids, token_type_ids, attention_mask as List&lt;int[]&gt;.</summary>
    static IReadOnlyDictionary<string, IList> FakeTokenize(DatasetBatch batch)
    {
        var ids = batch.Strings("sentence1").Zip(batch.Strings("sentence2"), (a, b) => new[] { 101, a.Length, 102, b.Length, 102 }).ToList();
        return new Dictionary<string, IList>
        {
            ["input_ids"] = ids,
            ["token_type_ids"] = ids.Select(_ => new[] { 0, 0, 0, 1, 1 }).ToList(),
            ["attention_mask"] = ids.Select(_ => new[] { 1, 1, 1, 1, 1 }).ToList(),
        };
    }

    [Fact]
    public void Rows_Columns_And_Typed_Access()
    {
        var d = Make(5);
        Assert.Equal(5, d.Count);
        Assert.Equal(["sentence1", "sentence2", "label", "idx"], d.ColumnNames);
        Assert.Equal("a3", d[3]["sentence1"]);
        Assert.Equal(1L, d[3]["label"]);
        Assert.Equal(["a0", "a1", "a2", "a3", "a4"], d.Column<string>("sentence1"));
        Assert.Equal([0L, 1L, 2L, 3L, 4L], d.Column<long>("idx")); // int32 read as long
        Assert.Equal(4, d["idx"][4]);
        Assert.Equal("{'sentence1': 'a1', 'sentence2': 'b1', 'label': 1, 'idx': 1}", d[1].ToString());
    }

    [Fact]
    public void Bad_Column_Name_Lists_The_Columns()
    {
        var d = Make(3);
        var e = Assert.Throws<KeyNotFoundException>(() => d.Column<string>("sentence"));
        Assert.Contains("'sentence'", e.Message);
        Assert.Contains("sentence1, sentence2, label, idx", e.Message);
        Assert.Throws<KeyNotFoundException>(() => d.RemoveColumns("nope"));
        Assert.Throws<KeyNotFoundException>(() => d.Map(b => new Dictionary<string, IList>(), batched: true, removeColumns: ["nope"]));
        Assert.Contains("is Value(dtype='string', id=None)", Assert.Throws<InvalidCastException>(() => d.Column<long>("sentence1")).Message);
    }

    [Fact]
    public void Batched_Map_Adds_Tokenizer_Columns_As_Int32_Sequences()
    {
        var d = Make(2500);
        int calls = 0;
        var mapped = d.Map(b => { calls++; return FakeTokenize(b); }, batched: true);
        Assert.Equal(3, calls); // 1000 + 1000 + 500
        Assert.Equal(["sentence1", "sentence2", "label", "idx", "input_ids", "token_type_ids", "attention_mask"], mapped.ColumnNames);
        Assert.Equal(new Sequence(new Value("int32")), mapped.Features["input_ids"]);
        Assert.Equal([101, 5, 102, 5, 102], mapped.Column<int[]>("input_ids")[1234]);
        Assert.IsType<ClassLabel>(mapped.Features["label"]);
        Assert.Equal(4, d.ColumnNames.Count); // the source is unchanged

        var empty = d.Select([]).Map(FakeTokenize, batched: true);
        Assert.Equal(0, empty.Count);
        Assert.Equal(new Sequence(new Value("int32")), empty.Features["attention_mask"]);
    }

    [Fact]
    public void Batched_Map_Replaces_Columns_And_Removes_Columns()
    {
        var d = Make(10);
        var replaced = d.Map(b => new Dictionary<string, IList> { ["sentence1"] = b.Strings("sentence1").Select(s => s.ToUpperInvariant()).ToList() },
            batched: true, batchSize: 3);
        Assert.Equal(d.ColumnNames, replaced.ColumnNames); // replaced in place
        Assert.Equal("A7", replaced[7]["sentence1"]);

        var flipped = d.Map(b => new Dictionary<string, IList> { ["label"] = b.Longs("label").Select(l => 1 - l).ToList() }, batched: true);
        Assert.IsType<ClassLabel>(flipped.Features["label"]); // same type: the ClassLabel is kept
        Assert.Equal(1L, flipped[0]["label"]);

        var tokenized = d.Map(FakeTokenize, batched: true, removeColumns: ["sentence1", "sentence2", "idx"]);
        Assert.Equal(["label", "input_ids", "token_type_ids", "attention_mask"], tokenized.ColumnNames);

        var e = Assert.Throws<ArgumentException>(() => d.Map(b => new Dictionary<string, IList> { ["x"] = new List<int> { 1 } }, batched: true));
        Assert.Contains("removeColumns", e.Message);
    }

    [Fact]
    public void Batched_Map_May_Change_Row_Count_When_All_Inputs_Are_Removed()
    {
        var d = Make(4);
        var doubled = d.Map(b => new Dictionary<string, IList> { ["text"] = b.Strings("sentence1").SelectMany(s => new[] { s, s }).ToList() },
            batched: true, removeColumns: d.ColumnNames);
        Assert.Equal(8, doubled.Count);
        Assert.Equal(["text"], doubled.ColumnNames);
    }

    [Fact]
    public void Row_Map_Infers_Types()
    {
        var d = Make(4).Map(row => new Dictionary<string, object?>
        {
            ["len"] = ((string)row["sentence1"]!).Length,
            ["pair"] = row["sentence1"] + " " + row["sentence2"],
        });
        Assert.Equal(new Value("int32"), d.Features["len"]);
        Assert.Equal("a2 b2", d[2]["pair"]);
    }

    [Fact]
    public void Select_Filter_Rename_And_Remove()
    {
        var d = Make(10);
        Assert.Equal([7, 2, 2], d.Select([7, 2, 2]).Column<int>("idx"));
        Assert.Throws<IndexOutOfRangeException>(() => d.Select([10]));
        Assert.Equal([1, 3, 5, 7, 9], d.Filter(r => (long)r["label"]! == 1).Column<int>("idx"));

        var renamed = d.RenameColumn("label", "labels");
        Assert.Equal(["sentence1", "sentence2", "labels", "idx"], renamed.ColumnNames);
        Assert.IsType<ClassLabel>(renamed.Features["labels"]);
        Assert.Throws<ArgumentException>(() => d.RenameColumn("label", "idx"));

        Assert.Equal(["sentence1", "label"], d.RemoveColumns("sentence2", "idx").ColumnNames);
    }

    [Fact]
    public void Shuffle_Is_Deterministic_And_Equals_Torch_RandPerm()
    {
        var d = Make(100);
        var a = d.Shuffle(seed: 42).Column<int>("idx");
        Assert.Equal(a, d.Shuffle(seed: 42).Column<int>("idx"));
        Assert.NotEqual(a, d.Shuffle(seed: 43).Column<int>("idx"));
        Assert.Equal(Enumerable.Range(0, 100), a.Order());

        using var generator = new Generator(42, CPU);
        using var perm = randperm(100, generator: generator);
        Assert.Equal(perm.data<long>().Select(v => (int)v), a);
        // PyTorch: torch.randperm(10, generator=torch.Generator().manual_seed(42))
        Assert.Equal([2, 6, 1, 8, 4, 5, 0, 9, 3, 7], Make(10).Shuffle(42).Column<int>("idx"));
    }

    [Fact]
    public void TrainTestSplit_Sizes_And_Determinism()
    {
        var d = Make(101);
        var split = d.TrainTestSplit(testSize: 0.2, seed: 7);
        Assert.Equal(["train", "test"], split.Keys);
        Assert.Equal(21, split["test"].Count); // ceil(0.2 * 101), as HF
        Assert.Equal(80, split["train"].Count);
        Assert.Equal(Enumerable.Range(0, 101), split["train"].Column<int>("idx").Concat(split["test"].Column<int>("idx")).Order());
        Assert.Equal(split["test"].Column<int>("idx"), d.TrainTestSplit(0.2, 7)["test"].Column<int>("idx"));
        Assert.NotEqual(split["test"].Column<int>("idx"), d.TrainTestSplit(0.2, 8)["test"].Column<int>("idx"));
        Assert.Equal(10, d.TrainTestSplit(10, 7)["test"].Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.TrainTestSplit(1.5, 7));
    }

    [Fact]
    public void DatasetDict_Applies_To_Every_Split_And_Lists_Splits()
    {
        var dict = new DatasetDict(new Dictionary<string, Dataset> { ["train"] = Make(6), ["validation"] = Make(3) });
        var tokenized = dict.Map(FakeTokenize, batched: true, removeColumns: ["sentence1", "sentence2", "idx"]).RenameColumn("label", "labels");
        Assert.All(tokenized.Values, d => Assert.Equal(["labels", "input_ids", "token_type_ids", "attention_mask"], d.ColumnNames));
        Assert.Equal(3, tokenized["validation"].Count);
        var e = Assert.Throws<KeyNotFoundException>(() => dict["test"]);
        Assert.Contains("splits: train, validation", e.Message);
        Assert.Equal(["sentence1", "idx"], dict.RemoveColumns("sentence2", "label")["train"].ColumnNames);
    }

    [Fact]
    public void ClassEncodeColumn_Uses_Sorted_Distinct_Names()
    {
        var d = Dataset.FromColumns(new Dictionary<string, IList>
        {
            ["text"] = new List<string> { "x", "y", "z" },
            ["label"] = new List<string> { "pos", "neg", "pos" },
        });
        var encoded = d.ClassEncodeColumn("label");
        Assert.Equal(new ClassLabel("neg", "pos"), encoded.Features["label"]);
        Assert.Equal([1L, 0L, 1L], encoded.Column<long>("label"));
    }
}
