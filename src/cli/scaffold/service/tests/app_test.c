static void run(void)
{
    api();
}
