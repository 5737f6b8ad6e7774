namespace CurWorkflows.Workflows.Tests;

public sealed class CollectionScheduleMathTests
{
    private static readonly DateTime Morning = new(2026, 11, 26, 7, 30, 0, DateTimeKind.Utc);

    [Fact]
    public void NextDue_without_cron_adds_the_interval()
    {
        Assert.Equal(Morning.AddHours(24), CollectionScheduleMath.NextDue(CollectionSchedule.Daily, Morning));
    }

    [Fact]
    public void NextDue_with_cron_pins_the_time_of_day_in_UTC()
    {
        var schedule = new CollectionSchedule(TimeSpan.FromDays(1), "0 6 * * *");
        Assert.Equal(new DateTime(2026, 11, 27, 6, 0, 0, DateTimeKind.Utc), CollectionScheduleMath.NextDue(schedule, Morning));
        Assert.Equal(new DateTime(2026, 11, 26, 6, 0, 0, DateTimeKind.Utc), CollectionScheduleMath.NextDue(schedule, Morning.AddHours(-2)));
    }

    [Fact]
    public void NextDue_with_a_six_field_cron_honours_seconds()
    {
        var schedule = new CollectionSchedule(TimeSpan.FromDays(1), "*/15 * * * * *");
        Assert.Equal(Morning.AddSeconds(15), CollectionScheduleMath.NextDue(schedule, Morning));
    }

    [Fact]
    public void NextDue_is_strictly_after_the_given_time_even_on_a_cron_occurrence()
    {
        var schedule = new CollectionSchedule(TimeSpan.FromDays(1), "30 7 * * *");
        Assert.Equal(Morning.AddDays(1), CollectionScheduleMath.NextDue(schedule, Morning));
    }

    [Theory]
    [InlineData("0 6 * * *", true)]
    [InlineData("0 0 6 * * *", true)]
    [InlineData("every morning", false)]
    [InlineData("61 * * * *", false)]
    public void TryParseCron_accepts_five_and_six_field_expressions_only(string cron, bool valid)
    {
        Assert.Equal(valid, CollectionScheduleMath.TryParseCron(cron, out var error));
        Assert.Equal(valid, error is null);
    }
}
