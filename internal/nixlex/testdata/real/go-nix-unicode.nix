builtins.derivation {
  name = "unicode";
  builder = ":";
  system = ":";
  letters = ''
    räksmörgås
    rødgrød med fløde
    Lübeck
    肥猪
    こんにちは / 今日は
    🌮
  '';
}
