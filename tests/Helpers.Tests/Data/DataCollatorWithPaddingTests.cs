using FineTuning.Data;
using static TorchSharp.torch;

namespace FineTuning.Tests.Data;

public class DataCollatorWithPaddingTests
{
    static IReadOnlyDictionary<string, object?> Example(int[] ids, long label, int firstSegmentLength)
        => new Dictionary<string, object?>
        {
            ["input_ids"] = ids,
            ["token_type_ids"] = ids.Select((_, i) => i < firstSegmentLength ? 0 : 1).ToArray(),
            ["attention_mask"] = ids.Select(_ => 1).ToArray(),
            ["label"] = label,
        };

    static readonly IReadOnlyDictionary<string, object?>[] Batch =
    [
        Example([101, 7, 8, 102, 9, 102], 1, 4),
        Example([101, 5, 102, 6, 102], 0, 3),
        Example([101, 4, 4, 4, 102, 3, 3, 102], 1, 5),
    ];

    static long[][] Rows(Tensor t) => Enumerable.Range(0, (int)t.shape[0]).Select(r => t[r].data<long>().ToArray()).ToArray();

    [Fact]
    public void Should_Pad_To_Longest_In_Batch_And_Rename_Label()
    {
        using var batch = new DataCollatorWithPadding(padTokenId: 0).Collate(Batch);
        Assert.Equal(["attention_mask", "input_ids", "labels", "token_type_ids"], batch.Keys.Order());
        Assert.Equal(new long[] { 3, 8 }, batch.InputIds.shape);
        Assert.Equal(ScalarType.Int64, batch.InputIds.dtype);
        Assert.Equal([101, 5, 102, 6, 102, 0, 0, 0], Rows(batch.InputIds)[1]);
        Assert.Equal([1, 1, 1, 1, 1, 0, 0, 0], Rows(batch.AttentionMask!)[1]);
        Assert.Equal([0, 0, 0, 1, 1, 0, 0, 0], Rows(batch.TokenTypeIds!)[1]);
        Assert.Equal([101, 4, 4, 4, 102, 3, 3, 102], Rows(batch.InputIds)[2]); // the longest is untouched
        Assert.Equal([1L, 0, 1], batch.Labels!.data<long>().ToArray());
    }

    [Fact]
    public void Should_Round_Up_To_A_Multiple_And_Pad_Left_When_Asked()
    {
        using var batch = new DataCollatorWithPadding(padTokenId: 0, padToMultipleOf: 8, paddingSide: "left").Collate(Batch[..2]);
        Assert.Equal(new long[] { 2, 8 }, batch.InputIds.shape); // longest 6 -> 8
        Assert.Equal([0, 0, 0, 101, 5, 102, 6, 102], Rows(batch.InputIds)[1]);
        Assert.Equal([0, 0, 0, 1, 1, 1, 1, 1], Rows(batch.AttentionMask!)[1]);
    }

    [Fact]
    public void Should_Pad_To_Max_Length_And_Refuse_Longer_Examples()
    {
        var collator = new DataCollatorWithPadding(padTokenId: 0, padding: PaddingStrategy.MaxLength, maxLength: 10);
        using (var batch = collator.Collate(Batch)) Assert.Equal(new long[] { 3, 10 }, batch.InputIds.shape);
        var tooShort = new DataCollatorWithPadding(padTokenId: 0, padding: PaddingStrategy.MaxLength, maxLength: 7);
        Assert.Contains("truncate", Assert.Throws<ArgumentException>(() => tooShort.Collate(Batch)).Message);
    }

    [Fact]
    public void Should_Add_Attention_Mask_When_Examples_Have_None()
    {
        var rows = new[] { new Dictionary<string, object?> { ["input_ids"] = new[] { 101, 102 } }, new Dictionary<string, object?> { ["input_ids"] = new[] { 101, 9, 102 } } };
        using var batch = new DataCollatorWithPadding(padTokenId: 0).Collate(rows);
        Assert.Equal([1, 1, 0], Rows(batch.AttentionMask!)[0]);
        Assert.Null(batch.Labels);
    }

    [Fact]
    public void Should_Refuse_Text_Columns_With_Advice()
    {
        var rows = Batch.Select(r => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>(r) { ["sentence1"] = "a text" }).ToArray();
        var e = Assert.Throws<ArgumentException>(() => new DataCollatorWithPadding(padTokenId: 0).Collate(rows));
        Assert.Contains("sentence1", e.Message);
        Assert.Contains("RemoveColumns", e.Message);
    }

    [Fact]
    public void Should_Keep_Float_Labels_For_Regression_And_Multi_Label()
    {
        var rows = new[]
        {
            new Dictionary<string, object?> { ["input_ids"] = new[] { 101, 102 }, ["label"] = 3.5f },
            new Dictionary<string, object?> { ["input_ids"] = new[] { 101, 102 }, ["label"] = 1.25f },
        };
        using var batch = new DataCollatorWithPadding(padTokenId: 0).Collate(rows);
        Assert.Equal(ScalarType.Float32, batch.Labels!.dtype);
        Assert.Equal([3.5f, 1.25f], batch.Labels.data<float>().ToArray());

        var multi = rows.Select(r => new Dictionary<string, object?>(r) { ["label"] = new[] { 1f, 0f, 1f } }).ToArray();
        using var multiBatch = new DataCollatorWithPadding(padTokenId: 0).Collate(multi);
        Assert.Equal(new long[] { 2, 3 }, multiBatch.Labels!.shape);
    }
}
