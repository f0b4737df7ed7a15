namespace FineTuning.Tests;

public class PythonReprTests
{
    [Theory]
    // Python: f"{x:.6f}" / f"{x:.2f}" — the exact binary value, ties to even.
    [InlineData(0.6, 6, "0.600000")]
    [InlineData(0.125, 2, "0.12")]
    [InlineData(0.375, 2, "0.38")]
    [InlineData(2.675, 2, "2.67")]
    [InlineData(0.0078125, 6, "0.007812")]
    [InlineData(-0.0001, 2, "-0.00")]
    [InlineData(1234567.891, 0, "1234568")]
    [InlineData(1e20, 1, "100000000000000000000.0")]
    [InlineData(5e-324, 3, "0.000")]
    [InlineData(double.NaN, 2, "nan")]
    [InlineData(double.NegativeInfinity, 2, "-inf")]
    public void Fixed_is_pythons_f_format(double value, int digits, string expected) =>
        Assert.Equal(expected, PythonRepr.Fixed(value, digits));

    [Fact]
    public void Round_is_pythons_round()
    {
        Assert.Equal(0.12, PythonRepr.Round(0.125, 2));
        Assert.Equal(2.67, PythonRepr.Round(2.675, 2));
        Assert.Equal(0.33, PythonRepr.Round(1 / 3.0, 2));
        Assert.Equal(1.0, PythonRepr.Round(0.999, 2));
    }

    [Theory]
    [InlineData("loss", "'loss'")]
    [InlineData("it's", "\"it's\"")]
    [InlineData("a'b\"c", "'a\\'b\"c'")]
    [InlineData("tab\tnew\nline\\", "'tab\\tnew\\nline\\\\'")]
    [InlineData("\u0001é", "'\\x01é'")]
    public void Str_is_pythons_repr(string value, string expected) => Assert.Equal(expected, PythonRepr.Str(value));

    [Theory]
    [InlineData(0, "00:00")]
    [InlineData(59.99, "00:59")]
    [InlineData(754, "12:34")]
    [InlineData(3600, "1:00:00")]
    [InlineData(90061, "25:01:01")]
    public void Interval_is_tqdms_format(double seconds, string expected) => Assert.Equal(expected, PythonRepr.Interval(seconds));
}
