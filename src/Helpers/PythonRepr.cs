using System.Globalization;
using System.Numerics;
using System.Text;

namespace FineTuning;

/// <summary>
/// Python's text forms of numbers and strings (<c>repr</c>, <c>f"{x:.6f}"</c>, <c>round(x, n)</c>), for the displays
/// that print what HF prints (the progress callbacks' log lines and tables).
/// </summary>
internal static class PythonRepr
{
    /// <summary>Python <c>repr(float)</c>: shortest round-trip digits (<c>0.5</c>, <c>5e-05</c>, <c>1.0</c>), and
    /// <c>nan</c>, <c>inf</c>, <c>-inf</c>.</summary>
    public static string Float(double value) =>
        double.IsNaN(value) ? "nan"
        : double.IsPositiveInfinity(value) ? "inf"
        : double.IsNegativeInfinity(value) ? "-inf"
        : PythonJson.Float(value);

    /// <summary>
    /// Python <c>f"{value:.{digits}f}"</c>: the exact binary value rounded half-to-even to <paramref name="digits"/>
    /// decimals (0.125 → "0.12", 2.675 → "2.67" since 2.675 is stored as 2.67499...), the sign kept ("-0.00");
    /// <c>nan</c>, <c>inf</c>, <c>-inf</c> as Python writes them.
    /// </summary>
    public static string Fixed(double value, int digits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";

        var bits = BitConverter.DoubleToInt64Bits(value);
        var biasedExponent = (int)((bits >> 52) & 0x7FF);
        var fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        // |value| = mantissa × 2^exponent, exactly.
        BigInteger mantissa = biasedExponent == 0 ? fraction : fraction | (1L << 52);
        var exponent = biasedExponent == 0 ? -1074 : biasedExponent - 1075;

        var scaled = mantissa * BigInteger.Pow(10, digits);
        BigInteger rounded;
        if (exponent >= 0)
            rounded = scaled << exponent;
        else
        {
            var denominator = BigInteger.One << -exponent;
            rounded = BigInteger.DivRem(scaled, denominator, out var remainder);
            var half = (remainder * 2).CompareTo(denominator);
            if (half > 0 || (half == 0 && !rounded.IsEven)) rounded += 1;
        }

        var text = rounded.ToString(CultureInfo.InvariantCulture).PadLeft(digits + 1, '0');
        if (digits > 0) text = text[..^digits] + "." + text[^digits..];
        return double.IsNegative(value) ? "-" + text : text;
    }

    /// <summary>Python <c>round(value, digits)</c>: the double nearest to <see cref="Fixed"/>'s decimal.</summary>
    public static double Round(double value, int digits) =>
        double.IsFinite(value) ? double.Parse(Fixed(value, digits), NumberStyles.Float, CultureInfo.InvariantCulture) : value;

    /// <summary>Python <c>repr(str)</c>: single quotes unless the text holds a single quote and no double quote;
    /// backslash, the quote, \n, \r, \t and other control characters escaped.</summary>
    public static string Str(string value)
    {
        var quote = value.Contains('\'') && !value.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(value.Length + 2).Append(quote);
        foreach (var c in value)
        {
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (c < 0x20 || c is >= '\x7f' and <= '\xa0') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>A duration as tqdm's <c>format_interval</c> and HF's notebook <c>format_time</c> write it: whole
    /// seconds (truncated) as "mm:ss", or "h:mm:ss" from one hour.</summary>
    public static string Interval(double seconds)
    {
        var t = seconds > 0 && double.IsFinite(seconds) ? (long)seconds : 0;
        long h = t / 3600, m = t / 60 % 60, s = t % 60;
        return h != 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{s:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m:00}:{s:00}");
    }

    /// <summary>Python <c>str(dict)</c> of a str → float dict, in the given order:
    /// <c>{'loss': 0.6931, 'learning_rate': 5e-05, 'epoch': 0.5}</c>.</summary>
    public static string Dict(IEnumerable<KeyValuePair<string, double>> entries) =>
        "{" + string.Join(", ", entries.Select(kv => Str(kv.Key) + ": " + Float(kv.Value))) + "}";
}
