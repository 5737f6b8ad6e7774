using System.Globalization;
using System.Text;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Tests;

/// <summary>
/// The per-row cost parser takes common forms itself and hands the rest to decimal.TryParse; whatever form a cell has,
/// the result must be the one decimal.TryParse gives: the same success, value, scale and sign.
/// </summary>
public class CostTextTests
{
    // Float without the white space: CUR writes none, and a cell with some is malformed.
    private const NumberStyles CostStyles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    public static TheoryData<string> Edges() =>
    [
        "", "0", "-0", "0.0", "-0.000", "1", "-1", "1.", "-1.", ".5", "-.5", ".", "-", "-.", "+1", "1.2.3", "1e3", "5.1373E-5",
        "00012.3400", "0.0000000001", "-0.0000000001", "1234567890123456789", "12345678901234567890", "0.12345678901234567890",
        "9999999999999999999", "18446744073709551615", "18446744073709551616", "0.000000000000000000000000000001",
        "79228162514264337593543950335", "79228162514264337593543950336", " 1", "1 ", "1,5", "١", "NaN", "∞", "12345678901.23456789",
    ];

    [Theory]
    [MemberData(nameof(Edges))]
    public void Edge_forms_parse_as_decimal_TryParse_does(string text) => AssertSameAsDecimalTryParse(text);

    [Theory]
    [InlineData("12.5", 1)]
    [InlineData("5.1373E-5", 9)]
    [InlineData("1e-50", 50)]
    [InlineData("0.10e1", 0)]
    [InlineData("1.000000000000000000000", 0)]
    [InlineData("-0.001e2", 1)]
    [InlineData("100", 0)]
    [InlineData("1.5 ", -1)]
    [InlineData("e5", -1)]
    [InlineData("1e", -1)]
    public void Decimal_places_are_counted_on_the_exact_value(string text, int places) =>
        Assert.Equal(places, Utf8Values.DecimalPlaces(Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData("2024-11-01T23:30:00-05:00", "2024-11-02")]
    [InlineData("2024-11-01T00:30:00.5+01:00", "2024-10-31")]
    [InlineData("2024-11-01T00:00Z", "2024-11-01")]
    public void Timestamps_with_offsets_give_their_utc_day(string text, string day)
    {
        Assert.True(Utf8Values.TryParseUtcDay(Encoding.UTF8.GetBytes(text), out var parsed));
        Assert.Equal(DateOnly.Parse(day, CultureInfo.InvariantCulture), parsed);
    }

    [Fact]
    public void Generated_forms_parse_as_decimal_TryParse_does()
    {
        var random = new Random(20261126);
        for (var i = 0; i < 50_000; i++)
        {
            AssertSameAsDecimalTryParse(RandomCostText(random));
        }
    }

    [Fact]
    public void Amounts_known_to_be_within_bounds_have_at_most_12_places_and_magnitude_below_10_to_the_12()
    {
        var random = new Random(7);
        for (var i = 0; i < 50_000; i++)
        {
            var text = RandomCostText(random);
            if (Utf8Values.TryParseDecimal(Encoding.UTF8.GetBytes(text), out var value, out var withinBounds) && withinBounds)
            {
                Assert.True(value.Scale <= 12 && Math.Abs(value) < 1_000_000_000_000m, $"'{text}' was reported within bounds");
            }
        }
    }

    private static void AssertSameAsDecimalTryParse(string text)
    {
        var parsed = Utf8Values.TryParseDecimal(Encoding.UTF8.GetBytes(text), out var value);
        if (text.Length == 0)
        {
            // An empty cell is a null cost, counted as zero.
            Assert.True(parsed);
            Assert.Equal(0m, value);
            return;
        }

        var expected = decimal.TryParse(text, CostStyles, CultureInfo.InvariantCulture, out var reference);
        Assert.True(expected == parsed, $"'{text}': decimal.TryParse {expected}, the cost parser {parsed}");
        if (parsed)
        {
            Assert.True(
                decimal.GetBits(reference).SequenceEqual(decimal.GetBits(value)),
                $"'{text}': decimal.TryParse {reference} (scale {reference.Scale}), the cost parser {value} (scale {value.Scale})");
        }
    }

    /// <summary>Mostly plausible amounts (signs, leading and trailing zeros, long fractions), sometimes broken ones.</summary>
    private static string RandomCostText(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(3) == 0)
        {
            text.Append('-');
        }

        var integerDigits = random.Next(4) == 0 ? random.Next(0, 25) : random.Next(0, 8);
        for (var i = 0; i < integerDigits; i++)
        {
            text.Append((char)('0' + (random.Next(4) == 0 ? 0 : random.Next(10))));
        }

        if (random.Next(5) != 0)
        {
            text.Append('.');
            var fractionDigits = random.Next(4) == 0 ? random.Next(0, 32) : random.Next(0, 13);
            for (var i = 0; i < fractionDigits; i++)
            {
                text.Append((char)('0' + (random.Next(3) == 0 ? 0 : random.Next(10))));
            }
        }

        switch (random.Next(40))
        {
            case 0:
                text.Append("E-").Append(random.Next(0, 12));
                break;
            case 1:
                text.Insert(random.Next(text.Length + 1), ".");
                break;
            case 2:
                text.Insert(random.Next(text.Length + 1), "x");
                break;
            case 3:
                text.Insert(0, ' ');
                break;
        }

        return text.ToString();
    }
}
