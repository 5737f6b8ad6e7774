using System.Globalization;
using System.Text;

namespace CurWorkflows.Cur.Reading;

/// <summary>Parsers for CUR cell values straight from UTF-8 bytes, with exact fallbacks for unusual forms.</summary>
internal static class Utf8Values
{
    /// <summary>
    /// Parses a cost. Empty means null, which counts as zero. The fast path takes plain `-123.4500` forms with up to
    /// 19 significant digits; everything else (exponents, more digits) goes through <see cref="decimal.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider?, out decimal)"/>.
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> text, out decimal value) => TryParseDecimal(text, out value, out _);

    /// <summary>
    /// As <see cref="TryParseDecimal(ReadOnlySpan{byte}, out decimal)"/>; <paramref name="withinCostBounds"/> is true when
    /// the value is known without further checks to have at most 12 decimal places and a magnitude below 10^12.
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> text, out decimal value, out bool withinCostBounds)
    {
        withinCostBounds = false;
        if (text.IsEmpty)
        {
            value = 0m;
            withinCostBounds = true;
            return true;
        }

        var i = 0;
        var negative = false;
        if (text[0] == (byte)'-')
        {
            negative = true;
            i = 1;
        }

        ulong mantissa = 0;
        var significant = 0;
        var scale = -1;
        var anyDigit = false;
        for (; i < text.Length; i++)
        {
            var digit = (uint)(text[i] - '0');
            if (digit <= 9)
            {
                anyDigit = true;
                if (mantissa != 0 || digit != 0)
                {
                    if (++significant > 19)
                    {
                        return Slow(text, out value);
                    }
                }

                mantissa = (mantissa * 10) + digit;
                if (scale >= 0)
                {
                    scale++;
                }
            }
            else if (text[i] == (byte)'.' && scale < 0)
            {
                scale = 0;
            }
            else
            {
                return Slow(text, out value);
            }
        }

        if (!anyDigit || scale > 28)
        {
            return Slow(text, out value);
        }

        scale = Math.Max(scale, 0);
        value = new decimal((int)mantissa, (int)(mantissa >> 32), 0, negative, (byte)scale);
        withinCostBounds = scale <= 12 && (scale >= 7 || mantissa < PowersOf10[12 + scale]);
        return true;
    }

    private static readonly ulong[] PowersOf10 =
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000,
    ];

    /// <summary>A sign, digits with one optional point, an optional exponent; no white space (CUR writes none).</summary>
    internal const NumberStyles CostStyles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    private static bool Slow(ReadOnlySpan<byte> text, out decimal value) =>
        decimal.TryParse(text, CostStyles, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// The decimal places the exact value of a number in <see cref="CostStyles"/> needs (trailing zeros and the exponent
    /// counted), whatever decimal.TryParse rounds it to: `1e-50` needs 50, `0.10e1` none. -1 when the text is not such a
    /// number.
    /// </summary>
    public static int DecimalPlaces(ReadOnlySpan<byte> text)
    {
        var i = text.Length > 0 && text[0] is (byte)'-' or (byte)'+' ? 1 : 0;
        long fraction = 0;
        long trailingZeros = 0;
        var digits = false;
        var point = false;
        for (; i < text.Length && (text[i] is >= (byte)'0' and <= (byte)'9' || (text[i] == (byte)'.' && !point)); i++)
        {
            if (text[i] == (byte)'.')
            {
                point = true;
                continue;
            }

            digits = true;
            trailingZeros = text[i] == (byte)'0' ? trailingZeros + 1 : 0;
            if (point)
            {
                fraction++;
            }
        }

        long exponent = 0;
        if (i < text.Length && text[i] is (byte)'e' or (byte)'E')
        {
            i++;
            var negative = i < text.Length && text[i] == (byte)'-';
            if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
            {
                i++;
            }

            var exponentDigits = false;
            for (; i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9'; i++)
            {
                exponentDigits = true;
                exponent = Math.Min((exponent * 10) + (text[i] - '0'), 100_000);
            }

            if (!exponentDigits)
            {
                return -1;
            }

            exponent = negative ? -exponent : exponent;
        }

        if (!digits || i != text.Length)
        {
            return -1;
        }

        // Trailing zeros of an integer part need no places; of the fraction they are not places at all.
        var significantFraction = Math.Max(fraction - trailingZeros, 0);
        return (int)Math.Clamp(significantFraction - exponent, 0, int.MaxValue);
    }

    /// <summary>
    /// Parses a CUR timestamp (`2024-11-01T00:00:00Z`, `2024-11-01T00:00:00.000Z`, a bare date, or any ISO 8601 form
    /// with an offset) and returns its UTC day.
    /// </summary>
    public static bool TryParseUtcDay(ReadOnlySpan<byte> text, out DateOnly day)
    {
        if (text.Length >= 10 && text[4] == (byte)'-' && text[7] == (byte)'-'
            && TryDigits(text[..4], out var year) && TryDigits(text.Slice(5, 2), out var month) && TryDigits(text.Slice(8, 2), out var dayOfMonth)
            && IsUtcTimeOrNothing(text[10..])
            && year >= 1 && month is >= 1 and <= 12 && dayOfMonth >= 1 && dayOfMonth <= DateTime.DaysInMonth(year, month))
        {
            day = new DateOnly(year, month, dayOfMonth);
            return true;
        }

        if (text.Length is > 0 and < 64 && Ascii.IsValid(text)
            && DateTimeOffset.TryParseExact(Encoding.ASCII.GetString(text), IsoTimestamps, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            day = DateOnly.FromDateTime(parsed.UtcDateTime);
            return true;
        }

        day = default;
        return false;
    }

    /// <summary>ISO 8601 timestamps with an offset or `Z` (the fast path takes the common `Z` forms and bare dates).</summary>
    private static readonly string[] IsoTimestamps =
        ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF"];

    /// <summary>Nothing, or `THH:mm:ss` with an optional fraction, ending in `Z`.</summary>
    private static bool IsUtcTimeOrNothing(ReadOnlySpan<byte> rest)
    {
        if (rest.IsEmpty)
        {
            return true;
        }

        if (rest.Length < 10 || rest[0] != (byte)'T' || rest[3] != (byte)':' || rest[6] != (byte)':' || rest[^1] != (byte)'Z'
            || !TryDigits(rest.Slice(1, 2), out var hour) || !TryDigits(rest.Slice(4, 2), out var minute) || !TryDigits(rest.Slice(7, 2), out var second)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var fraction = rest[9..^1];
        if (fraction.IsEmpty)
        {
            return true;
        }

        return fraction.Length >= 2 && fraction[0] == (byte)'.' && TryDigits(fraction[1..], out _);
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 9)
        {
            return false;
        }

        foreach (var b in text)
        {
            var digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            value = (value * 10) + (int)digit;
        }

        return true;
    }
}
