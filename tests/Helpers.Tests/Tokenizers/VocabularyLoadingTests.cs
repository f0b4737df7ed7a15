using Encoding = System.Text.Encoding;
using FineTuning.Tokenizers;

namespace FineTuning.Tests.Tokenizers;

/// <summary>vocab.txt that is not UTF-8 names the line (= token id + 1) of the bad byte, also deep into a large file.</summary>
public class VocabularyLoadingTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(25_000)]
    public void An_Invalid_Byte_Is_Reported_With_Its_Line_And_Token_Id(int badLine)
    {
        using var folder = new TempFolder();
        var bytes = new List<byte>();
        for (int i = 1; i <= 30_522; i++)
        {
            if (i == badLine) bytes.AddRange([(byte)'c', (byte)'a', (byte)'f', 0xE9]); // Latin-1 é
            else bytes.AddRange(Encoding.UTF8.GetBytes($"token{i}"));
            bytes.Add((byte)'\n');
        }
        var path = folder.WriteBytes("vocab.txt", [.. bytes]);

        var e = Assert.Throws<CheckpointException>(() => Vocabulary.Load(path));

        Assert.Equal($"{path}: vocabulary file is not valid UTF-8 (byte 0xE9) on line {badLine} (token id {badLine - 1}); save it as UTF-8", e.Message);
    }

    [Fact]
    public void A_Byte_Order_Mark_Is_Dropped_Not_Taken_For_Part_Of_The_First_Token()
    {
        using var folder = new TempFolder();
        folder.WriteBytes("vocab.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n")]);
        BertTokenizer tokenizer = null!;
        var log = FineTuning.Tests.Hub.HubTestSettings.CaptureLog(() => tokenizer = AutoTokenizer.FromPretrained(folder.Path));
        Assert.Equal(0, tokenizer.PadTokenId); // it used to be "has no pad_token [PAD]": the first token was "\uFEFF[PAD]"
        Assert.Contains("starts with a UTF-8 byte-order mark (EF BB BF); it was dropped", log);
    }
}
