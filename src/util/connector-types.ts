/**
 * DRM connector type names as drm_connector.c's drm_connector_enum_list spells them (the `TYPE` in
 * `TYPE-N`). A leaf: the config parser checks names against it and the kernel layer decodes
 * GETCONNECTOR's numbers with it, without either importing the other.
 */
export const DRM_CONNECTOR_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown', 1: 'VGA', 2: 'DVI-I', 3: 'DVI-D', 4: 'DVI-A', 5: 'Composite', 6: 'SVIDEO',
  7: 'LVDS', 8: 'Component', 9: 'DIN', 10: 'DP', 11: 'HDMI-A', 12: 'HDMI-B', 13: 'TV',
  14: 'eDP', 15: 'Virtual', 16: 'DSI', 17: 'DPI', 18: 'Writeback', 19: 'SPI', 20: 'USB',
};
